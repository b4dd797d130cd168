// Package jsonscan holds the byte-level JSON scanning shared by the SDK's fast paths (the typed
// decoder in api and the contract validator at the root): white space, literals and numbers,
// exactly as RFC 8259 and encoding/json read them.
package jsonscan

// Space returns the index of the first byte at or after i that is not JSON white space.
func Space(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Literal reports whether lit (such as "true" or "null") stands at i, and where it ends.
func Literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// Number scans the JSON number at i. It returns where the number ends, whether it has a
// fraction or an exponent, and false when no valid number starts at i.
func Number(b []byte, i int) (end int, float, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, false, false
	}
	if i < len(b) && b[i] == '.' {
		float = true
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false, false
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		float = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false, false
		}
		i = digits(b, i)
	}
	return i, float, true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
