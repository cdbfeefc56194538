package runner

import (
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/internal/synthdata"
)

// Generated data for the tests (package internal/synthdata).

var synthWords = synthdata.Words

func synthLoad(name string) (*datasets.Dataset, error) { return synthdata.Load(name) }
