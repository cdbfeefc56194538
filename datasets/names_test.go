package datasets

import "testing"

func TestNames(t *testing.T) {
	for task, want := range map[string][2]string{
		"ag-news": {"ag_news", "AG"}, "trec6": {"trec6", "TREC-6"}, "my-csv": {"my-csv", "my-csv"},
	} {
		if got := RecordName(task); got != want[0] {
			t.Errorf("RecordName(%q) = %q, want %q", task, got, want[0])
		}
		if got := Label(RecordName(task)); got != want[1] {
			t.Errorf("Label(%q) = %q, want %q", RecordName(task), got, want[1])
		}
	}
}
