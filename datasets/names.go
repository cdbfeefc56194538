package datasets

// The names a registered dataset goes by besides its registry name (the one
// experiment files and the command line use, "ag-news"): the one records
// carry (its Folder, "ag_news") and the one the paper prints ("AG").

// RecordName is how records name the dataset of a task: the registry
// entry's Folder, or the task itself for a dataset an experiment file
// declares.
func RecordName(task string) string {
	if info, err := Lookup(task); err == nil {
		return info.Folder
	}
	return task
}

// paperLabels are the names the paper prints for its datasets (table
// columns, figure panels), by record name.
var paperLabels = map[string]string{
	"imdb": "IMDb", "trec6": "TREC-6", "ag_news": "AG", "dbpedia": "DBpedia",
	"yelp_bi": "Yelp-bi", "yelp_full": "Yelp-full",
}

// Label is the paper's name for a dataset named as records name it, or the
// name itself.
func Label(dataset string) string {
	if l, ok := paperLabels[dataset]; ok {
		return l
	}
	return dataset
}
