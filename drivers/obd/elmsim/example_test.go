package elmsim_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"syscall"

	"github.com/evedge/evedge/drivers/obd/elmsim"
)

// A car with one OBD ECU, its adapter on a pseudo-terminal, and a client
// that opens the terminal like /dev/ttyUSB0.
func ExampleSim_ServePTY() {
	car := elmsim.NewCar(elmsim.Node{ReqID: 0x7E0, RespID: 0x7E8, OBD: true,
		ECU: &elmsim.OBDECU{State: func() elmsim.State { return elmsim.State{SpeedKmh: 60} }}})
	p, err := elmsim.New(car).ServePTY(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	f, err := os.OpenFile(p.Path(), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, cmd := range []string{"ATZ", "ATE0", "010D", "ATH1", "010D"} {
		fmt.Fprint(f, cmd+"\r")
		fmt.Printf("%q\n", readPrompt(f))
	}
	// Output:
	// "ATZ\r\r\rELM327 v1.5\r\r>"
	// "ATE0\rOK\r\r>"
	// "SEARCHING...\r41 0D 3C\r\r>"
	// "OK\r\r>"
	// "7E8 03 41 0D 3C 00 00 00 00\r\r>"
}

func readPrompt(f *os.File) string {
	var out []byte
	b := make([]byte, 64)
	for !bytes.HasSuffix(out, []byte(">")) {
		n, err := f.Read(b)
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, b[:n]...)
	}
	return string(out)
}
