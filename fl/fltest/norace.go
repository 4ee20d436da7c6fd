//go:build !race

package fltest

const raceSlowdown = 1
