// Package batch pays a batch of payouts (a CSV file, or rows from anywhere) with one payout
// link per row, safely across crashes: no row is paid twice, and no row is lost track of. It
// is the engine of 'payoutlinks batch'; a service can run it in process.
//
// Dots has no batch endpoint, so a batch is N creates, and a crash halfway is when duplicate
// payouts happen. Run guards against that with a journal (OpenJournal), an SQLite database:
//
//   - Every row is checked first with the SDK's own checks (Check); if any row is bad, nothing
//     is sent, and every bad row is named by line and field (*InvalidError).
//   - Before a row is sent, its idempotency key and the hash of its content are committed, in
//     WAL mode with synchronous=FULL; after, its outcome (link id, status, error). Each link
//     carries its row's key as metadata batch_key (MetadataKey).
//   - Run again with the same rows and journal, it resumes: rows with a link are skipped; rows
//     with a key and no outcome are sent again with the same key (Dots answers with the link
//     the key made, if any); a row whose key is over 23 hours old (StaleAfter) is first looked
//     up by its batch_key, and gets a new key only if no link has it; a row whose content
//     changed since its key was committed is refused and named, never sent with that key.
//   - Creates run Concurrency at a time, at most Rate a second, and a 429 pauses every worker
//     (Throttle). A create whose outcome is unknown (api.ErrOutcomeUnknown) is sent again with
//     its key, Retries times; what is left is reported as unknown, for the next run. A create
//     answered with another payout's link (api.ErrIdempotencyKeyReused) is a failure, never a
//     success.
//
// The report (Report) counts the rows by outcome, and Options.Results gets every row's result
// in order, from which the command line writes its results file.
package batch
