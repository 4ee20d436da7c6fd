package boost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// BenchmarkMemory1Mx50x50Processes trains one depth-3 tree on 1,000,000
// rows with 50 bank and 50 center columns, the center in a child process
// (this test binary run again) linked by two OS pipes, and reports each
// party's peak resident memory (VmHWM) and the training time. The data of
// the other party is dropped before training in each process.
// VEIL_BOOST_MEMORY_ROWS overrides the row count (a quick check of the
// set-up).
func BenchmarkMemory1Mx50x50Processes(b *testing.B) {
	const db, dc = 50, 50
	n := 1_000_000
	if s := os.Getenv("VEIL_BOOST_MEMORY_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		toChild, childIn, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		childOut, fromChild, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryCenterProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), memChildEnv+"="+strconv.Itoa(n))
		cmd.ExtraFiles = []*os.File{toChild, fromChild} // fds 3 and 4
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		toChild.Close()
		fromChild.Close()

		xb, _, y := benchData(n, db, dc, 2)
		runtime.GC()
		debug.FreeOSMemory()
		t := newStreamTransport(childOut, childIn)
		start := time.Now()
		_, err = TrainActive(context.Background(), t, []byte("boost-bench-joint-seed-0123456789"), Data{X: xb, Cols: db, Y: y}, Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 3}}, nil)
		elapsed := time.Since(start)
		t.Close()
		werr := cmd.Wait()
		if err != nil || werr != nil {
			b.Fatalf("bank: %v; center: %v\n%s", err, werr, stderr.String())
		}
		center := -1.0
		for _, line := range strings.Split(stderr.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "center-peak-bytes "); ok {
				x, _ := strconv.ParseFloat(v, 64)
				center = x / (1 << 30)
			}
		}
		b.ReportMetric(vmHWM()/(1<<30), "bank-peak-GiB")
		b.ReportMetric(center, "center-peak-GiB")
		b.ReportMetric(elapsed.Seconds(), "s/tree")
	}
}

const memChildEnv = "VEIL_BOOST_MEMORY_CENTER_ROWS"

// TestMemoryCenterProcess is the center of BenchmarkMemory1Mx50x50Processes;
// it runs only as that benchmark's child.
func TestMemoryCenterProcess(t *testing.T) {
	rows := os.Getenv(memChildEnv)
	if rows == "" {
		t.Skip("the center process of BenchmarkMemory1Mx50x50Processes")
	}
	n, err := strconv.Atoi(rows)
	if err != nil {
		t.Fatal(err)
	}
	const db, dc = 50, 50
	_, xc, _ := benchData(n, db, dc, 2)
	runtime.GC()
	debug.FreeOSMemory()
	tr := newStreamTransport(os.NewFile(3, "from-bank"), os.NewFile(4, "to-bank"))
	defer tr.Close()
	if _, err := TrainPassive(context.Background(), tr, []byte("boost-bench-joint-seed-0123456789"), Data{X: xc, Cols: dc}); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "center-peak-bytes %.0f\n", vmHWM())
}

// vmHWM returns this process's peak resident set size in bytes.
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return -1
}

// streamTransport is a minimal fl.Transport over a byte stream (here OS
// pipes between two processes): each message is its type and payload, each
// with a length prefix. It keeps no statistics.
type streamTransport struct {
	r      *bufio.Reader
	w      io.WriteCloser
	sendMu sync.Mutex
	recvMu sync.Mutex
}

func newStreamTransport(r io.Reader, w io.WriteCloser) *streamTransport {
	return &streamTransport{r: bufio.NewReaderSize(r, 1<<20), w: w}
}

func (s *streamTransport) Send(ctx context.Context, m fl.Message) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	hdr := binary.LittleEndian.AppendUint32(nil, uint32(len(m.Type)))
	hdr = append(hdr, m.Type...)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(m.Payload)))
	if _, err := s.w.Write(hdr); err != nil {
		return fmt.Errorf("%w: %v", fl.ErrConnLost, err)
	}
	if _, err := s.w.Write(m.Payload); err != nil {
		return fmt.Errorf("%w: %v", fl.ErrConnLost, err)
	}
	return nil
}

func (s *streamTransport) Recv(ctx context.Context) (fl.Message, error) {
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	var l4 [4]byte
	if _, err := io.ReadFull(s.r, l4[:]); err != nil {
		if err == io.EOF {
			return fl.Message{}, fl.ErrClosed
		}
		return fl.Message{}, fmt.Errorf("%w: %v", fl.ErrConnLost, err)
	}
	typ := make([]byte, binary.LittleEndian.Uint32(l4[:]))
	var l8 [8]byte
	if _, err := io.ReadFull(s.r, typ); err != nil {
		return fl.Message{}, fmt.Errorf("%w: %v", fl.ErrConnLost, err)
	}
	if _, err := io.ReadFull(s.r, l8[:]); err != nil {
		return fl.Message{}, fmt.Errorf("%w: %v", fl.ErrConnLost, err)
	}
	payload := make([]byte, binary.LittleEndian.Uint64(l8[:]))
	if _, err := io.ReadFull(s.r, payload); err != nil {
		return fl.Message{}, fmt.Errorf("%w: %v", fl.ErrConnLost, err)
	}
	return fl.Message{Type: string(typ), Payload: payload}, nil
}

func (s *streamTransport) Close() error    { return s.w.Close() }
func (s *streamTransport) Stats() fl.Stats { return fl.Stats{} }
