package model

// Early stopping: an option beyond the paper, which trains every stage for a
// fixed number of epochs and keeps the classifier epoch with the lowest
// validation error (section 4: 50 classifier epochs, the best chosen on
// validation). With a patience of N, training stops once N epochs in a row
// have not lowered the best validation error (the classifier's; for LM
// fine-tuning, whose epochs the runner drives, the validation loss): after
// epoch e (0-based) when e - best >= N, best being the epoch of the lowest
// value so far. The classifier keeps the best epoch's weights, as it does
// without stopping; so does LM fine-tuning with a patience.
//
// The learning-rate schedule keeps the length of the planned epochs:
// stopping truncates it, as fastai's EarlyStoppingCallback does to
// fit_one_cycle, so a stopped run's epochs are exactly the first epochs of
// the run that did not stop, and an STLR run stopped during its decay never
// reaches the schedule's last, lowest rates.

// StopEarly reports whether training stops before epoch next (0-based),
// the epochs before it having run and best being the 0-based epoch of the
// lowest validation error among them (-1 before any). patience 0 never
// stops. It is checked before each epoch rather than after, so a run that
// resumes from the checkpoint of the epoch that triggered it stops at once.
func StopEarly(patience, next, best int) bool {
	return patience > 0 && best >= 0 && next-1-best >= patience
}
