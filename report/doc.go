// Package report turns result records into the paper's tables (Tables 2-7
// and the bidirectional result of Section 5) and figures (Figures 3 and 4,
// LM training curves, learning-rate schedules), each beside the paper's
// numbers (Howard & Ruder 2018), and compares two record sets cell by cell.
//
// Tables render as text (tablewriter), Markdown, CSV, LaTeX and HTML;
// figures as SVG and PNG (gonum/plot). Report.WriteDir writes them all with
// an index page (index.html, index.md) that shows everything in one file.
// The tables' layouts (rows in the paper's order with its labels, columns)
// are data in package layout; the figures are declared in the experiment
// files ([[figures]]: experiments.Figure), Figures 3 and 4 in figure3.toml
// and figure4.toml, and BuildFigure draws any declaration, the paper's or
// one's own; the paper's numbers are records (results.Paper).
//
// # What the records must hold
//
// Every record of ours: source "ours", the seed, the scale ("paper",
// "small", ...) and git_commit (git_dirty when the tree had changes): a
// cell shows its scale and commits. A cell's seeds are averaged; the same
// seed twice with different values, or one cell mixing scales or splits, is
// an error (Check). Datasets are named as the datasets registry names their
// folders: imdb, trec6, ag_news, dbpedia, yelp_bi, yelp_full.
//
//	item           experiment     rows                                   split       metric  also
//	Table 2        table2         ulmfit (cove ... lstm-cnn: paper only) test        error   imdb, trec6
//	Table 3        table3         ulmfit (char-cnn, cnn, dpcnn: paper)   test        error   ag_news, dbpedia, yelp_bi, yelp_full
//	Table 4        table4         without-pretraining, with-pretraining  validation  error   imdb, trec6, ag_news
//	Table 5        table5         vanilla, awd-lstm                      validation  error
//	Table 6        table6         none, full, full+discr,                validation  error
//	                              full+discr+stlr
//	Table 7        table7         scratch, full, full+discr, last,       validation  error
//	                              chain-thaw, freez, freez+discr,
//	                              freez+stlr, freez+cos, freez+discr+stlr
//	Bidirectional  bidirectional  forward, backward, ensemble            test        error   imdb
//	Figure 3       figure3        scratch, supervised, semi-supervised   validation  error   train_size > 0: the labelled examples
//	Figure 4       figure4        ulmfit, full                           validation  error   curves["val_error"]: % per classifier epoch
//
// Values are error rates in percent. A row a table does not name is shown
// after the paper's rows as a variant of ours. Figure 4 falls back, per
// dataset and method, to Table 7's freez+discr+stlr and full records when
// they carry a "val_error" curve (figure4.toml's fallback). LM training curves come from any record
// of ours with curves["lm_train_loss"] and/or curves["lm_val_loss"]
// (cross-entropy in nats per token, one value per epoch); learning-rate
// schedules from curves["lr"] (one value per optimiser step) and optional
// curves["lr/<group>"], one per layer group.
package report
