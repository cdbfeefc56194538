package ablations

import (
	"testing"

	"github.com/ulmfit-go/ulmfit/model"
)

func TestRowVariant(t *testing.T) {
	s := Paper()
	s.LMFineTune = model.LMFullDiscr
	if v, ok := RowVariant(s, "full+discr"); !ok || v.Doc != "discriminative rates: eta^{l-1} = eta^l / 2.6" {
		t.Errorf(`RowVariant(lm_finetune = full+discr, "full+discr") = %+v, %v; want lm_finetune's "Full + discr"`, v, ok)
	}
	if v, ok := RowVariant(s, "my-row"); ok {
		t.Errorf(`RowVariant(.., "my-row") = %+v: a row not named for a variant has none`, v)
	}
}
