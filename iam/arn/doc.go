// Package arn parses, formats and matches Amazon Resource Names, and holds the
// wildcard matcher shared by the IAM engine for Resource, Action and
// String/Arn condition matching.
//
// An ARN has six colon-separated components:
//
//	arn:partition:service:region:account-id:resource
//
// The resource component may itself contain colons and slashes. Parse splits
// at the first five colons only.
//
// Wildcards follow the IAM User Guide: '*' matches any run of zero or more
// characters and '?' matches exactly one character. In an ARN pattern
// (Resource element, ArnEquals/ArnLike conditions) each of the six components
// is matched separately, so a wildcard never spans a colon between
// components; within the resource component it spans '/' and ':' freely.
// ARN matching is case-sensitive; action matching (Glob compiled with fold)
// is ASCII case-insensitive.
//
// The matcher never backtracks across '*': the pattern is split at stars into
// fixed-width segments, the first and last segments are anchored and every
// middle segment is placed at its leftmost occurrence (greedy leftmost
// placement is optimal because segments have a fixed number of characters).
// Segments of plain text are found with strings.Index; segments of 16 or more
// characters containing '?' are searched bit-parallel (Shift-And), costing
// O(len(input) × ⌈len(segment)/64⌉); short segments and segments holding
// substituted variables are tried at each position, O(len(input) ×
// len(segment)) with a small bound. So a 10,000-character pattern with
// thousands of stars cannot blow up the way a backtracking matcher does
// (BenchmarkGlob_LongPattern, BenchmarkGlob_WorstCase).
//
// Patterns can carry variable slots (TokenVar) whose values are supplied at
// match time and compared as literal text; this is how the IAM engine matches
// policy variables such as ${aws:PrincipalTag/TenantID} without allocating.
//
// The package is hand-written: no maintained Go library implements IAM's ARN
// and wildcard semantics. It does no I/O and has no package-level state.
package arn
