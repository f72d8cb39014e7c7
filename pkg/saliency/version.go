package saliency

// Version is the version of the numbers this package computes: the saliency maps, masks and norm ratios. Change it
// with any change of code that changes them: it is part of the key of every stage of the study whose outputs
// depend on it (pkg/study), so results cached by the old code count as stale. TestGolden fails when the numbers
// change while Version stays (pkg/internal/golden).
const Version = "2"
