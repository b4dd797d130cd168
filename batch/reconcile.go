package batch

import (
	"context"
	"fmt"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// Standing is where a row stands once its journal entry is compared with the links on Dots.
type Standing string

const (
	// StandingPaid: the journal says made, and Dots holds exactly its link, for the row's amount. Settled.
	StandingPaid Standing = "paid"
	// StandingFailed: the journal says failed (Dots refused it, or a conflict), and Dots holds no link
	// with its keys. Settled.
	StandingFailed Standing = "failed"
	// StandingUnknown: the journal has no outcome yet (sending, unknown): a create may have reached Dots.
	StandingUnknown Standing = "unknown"
	// StandingMissing: Dots holds no link where one is expected: the journal says made and no link
	// carries its key, or the row was never sent.
	StandingMissing Standing = "missing"
	// StandingUnexpected: Dots holds a link the journal does not account for: a second link for one row,
	// a link for a row that failed or was never sent, or a link whose amount is not the row's.
	StandingUnexpected Standing = "unexpected_link"
)

// Reconciled is one row of a reconciliation: its entry, the links on Dots that carry one of its
// keys, where it stands, and what to do.
type Reconciled struct {
	Entry    Entry
	Links    []gen.PayoutLink
	Standing Standing
	Action   string
}

// Settled reports whether nothing is left to do for the row: paid, or failed with no link.
func (r Reconciled) Settled() bool { return r.Standing == StandingPaid || r.Standing == StandingFailed }

// Reconcile compares the journal s with the links on Dots: it walks every entry, then the links,
// newest first, back to an hour before the oldest key was made, and sorts the links by their
// metadata batch_key; each row gets the links that carry one of its keys, where it stands, and
// the action to take. Links whose batch_key is not one of the journal's are not the batch's, and
// are left out.
func Reconcile(ctx context.Context, client *api.Client, s Store) ([]Reconciled, error) {
	var entries []Entry
	for e, err := range s.Entries(ctx, 0, 0) {
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	keys, since, err := keysOf(ctx, s, entries...)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	links := map[int][]gen.PayoutLink{}
	for link, err := range client.PayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: api.Ptr(100)}) {
		if err != nil {
			return nil, fmt.Errorf("batch: listing the links on Dots: %w", err)
		}
		if !link.Created.IsZero() && link.Created.Before(since.Add(-lookupMargin)) {
			break
		}
		if line, ok := keys[link.Metadata.Get(MetadataKey)]; ok {
			links[line] = append(links[line], link)
		}
	}
	out := make([]Reconciled, len(entries))
	for i, e := range entries {
		out[i] = Reconciled{Entry: e, Links: links[e.Line]}
		out[i].Standing, out[i].Action = stand(e, links[e.Line])
	}
	return out, nil
}

// stand says where a row stands, and what to do about it.
func stand(e Entry, links []gen.PayoutLink) (Standing, string) {
	var other []string
	for _, l := range links {
		if l.ID != e.LinkID || l.Amount != e.Amount {
			other = append(other, fmt.Sprintf("%s (%s)", l.ID, usd(l.Amount)))
		}
	}
	switch e.State {
	case Made:
		switch {
		case len(links) == 0:
			return StandingMissing, fmt.Sprintf("the journal has link %s, and no link on Dots carries the row's key: look it up (payoutlinks get %s) before paying anything", e.LinkID, e.LinkID)
		case len(other) > 0:
			return StandingUnexpected, fmt.Sprintf("Dots holds %v besides the row's link %s (%s): cancel what is not meant to be paid", other, e.LinkID, usd(e.Amount))
		}
		return StandingPaid, "none"
	case Failed:
		if len(links) > 0 {
			return StandingUnexpected, fmt.Sprintf("the row failed (%s), yet Dots holds %v with its key: cancel it, or keep it and do not pay the row again", e.Error, other)
		}
		return StandingFailed, "none: nothing was paid; to pay it, fix the cause and pay it in a new file (under a new reference if it was a conflict)"
	case NotSent:
		if len(links) > 0 {
			return StandingUnexpected, fmt.Sprintf("the journal says never sent, yet Dots holds %v with its key: run the batch again to record it", other)
		}
		return StandingMissing, "never sent: run the batch again to send it"
	}
	switch {
	case len(links) == 1 && links[0].Amount == e.Amount:
		return StandingUnknown, fmt.Sprintf("Dots holds its link %s: run the batch again to record it", links[0].ID)
	case len(links) > 1 || len(other) > 0:
		return StandingUnexpected, fmt.Sprintf("no outcome in the journal, and Dots holds %v: cancel what is not meant to be paid, then run the batch again", other)
	}
	return StandingUnknown, "no outcome yet, and no link on Dots: run the batch again (the row is sent again with its key)"
}
