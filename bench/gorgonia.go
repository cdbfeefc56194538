//go:build oracle

package bench

import "github.com/ulmfit-go/ulmfit/oracle"

// The naive peer links gorgonia (with Arrow, protobuf and gographviz), so it
// is only in binaries built with -tags oracle.
func init() { engines["gorgonia"] = gorgoniaEngine }

// gorgoniaEngine is the oracle's graph in float32 on gorgonia's tape machine,
// with gorgonia's Adam.
func gorgoniaEngine(_ Options, s Shape) (built, error) {
	spec := oracle.Spec{Vocab: s.Vocab, Emb: s.Emb, Hidden: s.Hidden, Layers: s.Layers, AR: 2, TAR: 1}
	st, err := oracle.NewStepper(spec, s.BPTT, s.Batch, 0.2, 1)
	if err != nil {
		return built{}, err
	}
	return built{step: st.Step, name: "gorgonia-float32"}, nil
}
