package codec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

func TestUnmarshalLenient(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(t *testing.T, l gen.PayoutLinkList)
		notes    []string // "field: problem" of each note, in order
		wantErr  bool
	}{
		{"a fraction of a cent is read as its whole part",
			`{"data":[{"id":"a","amount":1250},{"id":"b","amount":99.5}],"has_more":true}`,
			func(t *testing.T, l gen.PayoutLinkList) {
				if len(l.Data) != 2 || l.Data[0].Amount != 1250 || l.Data[1].Amount != 99 || l.Data[1].ID != "b" || !l.HasMore {
					t.Fatalf("got %+v", l)
				}
			}, []string{"data[1].amount: 99.5 is not a whole number; read as 99"}, false},
		{"one bad field of each kind, the rest kept",
			`{"data":[{"id":"a","memo":5,"tax_exempt":"yes","created":"yesterday","metadata":7,"payee":{"email":true,"first_name":"Jane"}}]}`,
			func(t *testing.T, l gen.PayoutLinkList) {
				if len(l.Data) != 1 {
					t.Fatalf("got %+v", l)
				}
				d := l.Data[0]
				if d.ID != "a" || d.Memo != "" || d.TaxExempt || !d.Created.IsZero() || d.Metadata != nil || d.Payee.Email != "" || d.Payee.FirstName != "Jane" {
					t.Fatalf("got %+v", d)
				}
			}, []string{
				"data[0].memo: 5 cannot be read as text; left empty",
				"data[0].tax_exempt: a string cannot be read as true or false; left empty",
				"data[0].created: a string cannot be read as a Timestamp; left empty",
				"data[0].metadata: 7 cannot be read as a Metadata; left empty",
				"data[0].payee.email: true cannot be read as text; left empty",
			}, false},
		{"a good document has no notes", `{"data":[{"id":"a","created":"2024-07-11T12:31:33.479437","amount":5000.0}]}`,
			func(t *testing.T, l gen.PayoutLinkList) {
				if l.Data[0].Amount != 5000 || !l.Data[0].Created.Equal(time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC)) {
					t.Fatalf("got %+v", l.Data[0])
				}
			}, nil, false},
		{"a document of the wrong kind is an error", `[1,2]`, func(*testing.T, gen.PayoutLinkList) {}, nil, true},
		{"JSON that is not well formed is an error", `{"data":[{"id":"a"`, func(*testing.T, gen.PayoutLinkList) {}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l gen.PayoutLinkList
			notes, err := codec.UnmarshalLenient([]byte(tt.in), &l)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			var got []string
			for _, n := range notes {
				got = append(got, n.Field()+": "+n.Problem)
			}
			if strings.Join(got, "\n") != strings.Join(tt.notes, "\n") {
				t.Fatalf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.notes, "\n"))
			}
			tt.check(t, l)
		})
	}
}
