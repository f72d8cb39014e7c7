package eval

// Version is the version of the numbers this package computes for one run's evaluation (Evaluate: the clean and
// corrupted accuracies, per-image outcomes and the clean bootstrap), and AnalysisVersion that of Section 3's analysis
// of all evaluations (Analyze: robustness scores, paired intervals, regressions). Change the one whose numbers a
// change of code changes: each is part of the key of the stages whose outputs it computes (pkg/study), so results
// cached by the old code count as stale. TestGolden fails when the numbers change while they stay
// (pkg/internal/golden).
const (
	Version         = "2"
	AnalysisVersion = "2"
)
