// Package fault embeds the committed fault model (fault.evnn), so that the
// agent carries it without a file to install. See README.md for how it is
// trained and what it scores.
package fault

import (
	"bytes"
	_ "embed"
	"fmt"

	int8nn "github.com/evedge/evedge/models/int8"
)

//go:embed fault.evnn
var evnn []byte

// Load reads and checks (checksum, golden vectors) the embedded model.
func Load() (*int8nn.Model, error) {
	m, err := int8nn.Read(bytes.NewReader(evnn))
	if err != nil {
		return nil, fmt.Errorf("embedded fault.evnn: %w", err)
	}
	return m, nil
}
