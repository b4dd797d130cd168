package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestNumber(t *testing.T) {
	tests := []struct {
		in        string
		end       int
		float, ok bool
	}{
		{"0", 1, false, true}, {"-12", 3, false, true}, {"5000.0", 6, true, true}, {"5e3", 3, true, true},
		{"1.5E-2,", 6, true, true}, {"12}", 2, false, true}, {"01", 1, false, true},
		{"-", 0, false, false}, {"1.", 0, false, false}, {"1e", 0, false, false}, {".5", 0, false, false}, {"", 0, false, false},
	}
	for _, tt := range tests {
		end, float, ok := Number([]byte(tt.in), 0)
		if ok != tt.ok || (ok && (end != tt.end || float != tt.float)) {
			t.Errorf("Number(%q) = %d %v %v, want %d %v %v", tt.in, end, float, ok, tt.end, tt.float, tt.ok)
		}
	}
}

// FuzzNumber holds Number to encoding/json: a whole input is a number exactly when json.Valid
// says so, it starts like a number and has no white space around it.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-1.5e+3", "01", "1.", "5000.0", "-", "1e9999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		end, _, ok := Number(b, 0)
		whole := ok && end == len(b)
		isNum := len(b) > 0 && (b[0] == '-' || ('0' <= b[0] && b[0] <= '9')) && json.Valid(b) && len(bytes.TrimSpace(b)) == len(b)
		if whole != isNum {
			t.Fatalf("Number(%q) whole = %v, encoding/json says %v", s, whole, isNum)
		}
	})
}

func TestSpaceAndLiteral(t *testing.T) {
	b := []byte(" \t\r\n null ")
	i := Space(b, 0)
	if i != 5 {
		t.Fatalf("Space = %d", i)
	}
	if end, ok := Literal(b, i, "null"); !ok || end != 9 {
		t.Fatalf("Literal = %d %v", end, ok)
	}
	if _, ok := Literal(b, i, "nulls!"); ok {
		t.Fatal("a literal longer than the input matched")
	}
}
