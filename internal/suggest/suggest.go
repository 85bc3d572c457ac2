// Package suggest finds the known name a mistyped one was meant to be:
// for "did you mean" hints, and to tell a typo of a field's name (worth
// repeating) from something else in its place (which may be a secret, and
// is not repeated).
package suggest

import "strings"

// MaxDistance is how many single-letter edits apart a name and a known
// name may be for the one to be taken for a typo of the other.
const MaxDistance = 2

// Closest returns the known name nearest to name, if it is at most
// MaxDistance edits (insertions, deletions, substitutions, swaps) away and nearer
// than a third of name's length, else "". Ties go to the first known name.
// Names over 64 bytes are never typos: none is compared.
func Closest(name string, known []string) string {
	if len(name) > 64 {
		return ""
	}
	best, bestDist := "", MaxDistance+1
	for _, k := range known {
		if len(k) > 64 {
			continue
		}
		if d := distance(name, k); d < bestDist && d*3 <= len(name) {
			best, bestDist = k, d
		}
	}
	return best
}

// Flag is [Closest] for a command-line flag, or else the known name that
// name extends by a word ("video" for "video-id"). Not for names that may
// be secrets: an extension may hold anything.
func Flag(name string, known []string) string {
	if best := Closest(name, known); best != "" {
		return best
	}
	for _, k := range known {
		if len(k) >= 3 && (strings.HasPrefix(name, k+"-") || strings.HasPrefix(name, k+"_")) {
			return k
		}
	}
	return ""
}

// distance is the edit distance of a and b, by bytes: insertions,
// deletions, substitutions, and swaps of two neighbours (the optimal
// string alignment distance), each one edit.
func distance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}
