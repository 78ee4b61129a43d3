package formatter

import "strings"

// NaturalCompare orders strings the way the docker CLI sorts names and
// port lines: runs of digits compare by their numeric value ("web2"
// before "web10", "80/tcp" before "443/tcp"), a digit sorts before any
// other character, everything else compares byte by byte. Of two equal
// numbers the one with fewer leading zeros comes first. It returns -1, 0
// or +1, for slices.SortFunc.
func NaturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		switch {
		case da != db:
			if da {
				return -1
			}
			return 1
		case !da:
			if a[0] != b[0] {
				if a[0] < b[0] {
					return -1
				}
				return 1
			}
			a, b = a[1:], b[1:]
		default:
			var na, nb string
			var za, zb int
			na, za, a = cutNumber(a)
			nb, zb, b = cutNumber(b)
			if len(na) != len(nb) {
				if len(na) < len(nb) {
					return -1
				}
				return 1
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if za != zb {
				if za < zb {
					return -1
				}
				return 1
			}
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// cutNumber splits the leading run of digits off s: its value without
// leading zeros, how many zeros there were, and the rest of s.
func cutNumber(s string) (digits string, zeros int, rest string) {
	for zeros < len(s) && s[zeros] == '0' {
		zeros++
	}
	end := zeros
	for end < len(s) && isDigit(s[end]) {
		end++
	}
	return s[zeros:end], zeros, s[end:]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
