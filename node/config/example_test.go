package config_test

import (
	"fmt"

	"github.com/veil-fl/veil/node/config"
)

func ExampleParseCenter() {
	cfg, err := config.ParseCenter("/etc/veil/center.yaml", []byte(`listen: 127.0.0.1:7070
cert: center.pem
key: center-key.pem
ca: ca.pem
registry: center-models/
tables:
  enterprises: {source: center.csv}
banks:
  bank-b: {tables: [enterprises], models: [lr], outputs: [bands], columns: [c0, c1, c2]}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := cfg.Bank("bank-b")
	fmt.Println(cfg.Tables["enterprises"].Source, cfg.Limits.Trainings, b.MaxSessions, cfg.Rule("bank-b", "models"))

	_, err = config.ParseCenter("center.yaml", []byte("listen: :7070\nlimits: {trainigs: 2}\n"))
	fmt.Println(err)
	// Output:
	// /etc/veil/center.csv 2 4 banks.bank-b.models: [lr]
	// center.yaml:2:10: limits.trainigs: unknown key
}

func ExampleParseJob() {
	j, err := config.ParseJob("job.yaml", []byte(`center: center.example:7070
cert: bank-a.pem
key: bank-a-key.pem
ca: ca.pem
registry: bank-models/
data: {source: bank.csv, label: y}
table: enterprises
model: sbt
name: sme-credit
sbt: {trees: 50}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, _ := j.Spec()
	fmt.Println(spec.Models, spec.SBT.Trees, spec.SBT.MaxDepth, spec.TestFraction, j.CenterName)
	// Output: [sbt] 50 3 0.2 center
}
