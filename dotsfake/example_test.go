package dotsfake_test

import (
	"context"
	"fmt"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/dotsfake"
	"github.com/payoutkit/dots-go/gen"
)

// Test code that takes api.PayoutLinks with a fake: answer a canned outage, then check what the
// code asked for. (The in-process mock, package mock, is the better double where it fits.)
func ExampleFake() {
	fake := &dotsfake.Fake{
		Create: func(ctx context.Context, body gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error) {
			return nil, &api.Error{StatusCode: 503, Code: "service-unavailable", Call: api.Call{OutcomeUnknown: true}}
		},
	}
	var links api.PayoutLinks = fake // what your code takes

	_, err := links.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250})
	key, _ := api.IdempotencyKeyOf(err)
	calls := fake.Calls()
	fmt.Println(len(calls), calls[0].Method, calls[0].Body.Amount, key == *calls[0].Body.IdempotencyKey)
	fmt.Println(err)
	// Output:
	// 1 CreatePayoutLink 1250 true
	// dots: 503 service-unavailable
}
