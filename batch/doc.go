// Package batch pays a batch of payouts (a CSV file, or rows from anywhere) with one payout
// link per row, safely across crashes, files and journals: no payout is paid twice, and no row
// is lost track of. It is the engine of 'payoutlinks batch'; a service can run it in process.
//
// Dots has no batch endpoint, so a batch is N creates, and a crash halfway, or a file paid
// again, is when duplicate payouts happen. Run guards against that:
//
//   - Every row is checked first (Check, which is also the dry run): the SDK's own checks on
//     the request it will send, a cap on each amount (Options.MaxAmount, $10,000 by default), a
//     total that fits in an int64, and no payout twice (two rows with one reference, or without
//     references two rows alike). If any row is bad, nothing is sent, and every bad row is named
//     by line and field (*InvalidError). ReadCSV refuses a file that is not UTF-8 or is
//     separated by semicolons, and a record over MaxRecordBytes.
//   - Each row names its payout with a reference (Row.Reference; the CSV column reference,
//     such as an invoice number). Its idempotency key is derived from it (ReferenceKey), and its
//     link carries it as metadata batch_reference (MetadataReference). Before sending, Run walks
//     the links on Dots, newest first, back over Options.Lookback (DefaultLookback, 90 days),
//     for the references of the rows its journal does not have (or has as never sent): a row
//     whose reference has a link is already made, or, if the link's amount differs, fails as a
//     conflict with nothing sent. So a copy of the file, another journal, a deleted one, or a
//     later file holding old rows pays nothing twice. Rows without a reference are refused
//     (*NoReferenceError) unless Options.AllowNoReference is set; they get random keys, and are
//     safe from being paid twice only within their journal.
//   - A journal (OpenJournal), an SQLite database: before a row is sent, its key and the hash
//     of its content are committed, in WAL mode with synchronous=FULL; after, its outcome (link
//     id, status, error). Each link carries its row's key as metadata batch_key (MetadataKey).
//   - Options.Confirm sees what is about to be sent (Plan: the links, their total, by delivery
//     method), after the checks and lookups and before anything is sent; nothing is sent unless
//     it agrees.
//   - Run again with the same rows and journal, it resumes: rows with a link are skipped; rows
//     with a key and no outcome are sent again with the same key (Dots answers with the link
//     the key made, if any); a row whose content changed since its key was committed is refused
//     and named, never sent with that key.
//   - Dots keeps keys for 24 hours. A row whose key is over 23 hours old (StaleAfter), and a
//     create of which may have reached Dots, is first looked up by its batch_key. If no link
//     carries it, a random key is replaced by a new one; a key derived from a reference cannot
//     be (the reference always derives the same key), so the row is sent again with it, which
//     Dots, having forgotten the key, takes as new. From 24 hours on, what keeps a row from
//     being paid twice is therefore the lookup, not the key: by batch_key for rows the journal
//     has, by batch_reference over the lookback window for rows it does not have.
//   - Creates run Concurrency at a time, at most Rate a second, and a 429 pauses every worker
//     (Throttle). A create whose outcome is unknown (api.ErrOutcomeUnknown) is sent again with
//     its key, Retries times; a create answered with another payout's link
//     (api.ErrIdempotencyKeyReused) is a failure, never a success.
//
// Every row ends with an outcome: made, already made, failed (Dots refused it, or a conflict),
// unknown (a create of it may have reached Dots: run again to resolve it), or not sent (no
// create of it reached Dots: the run stopped first, by ctx or because Dots could not be
// reached, Options.MaxUnreachable creates in a row). The report (Report) counts the rows by
// outcome, and Options.Results gets every row's result in order, from which the command line
// writes its results file.
//
// The payout logic is written once (Payer: one attempt at a row whose key is committed) over a
// Store, the journal: the SQLite Journal (Journal.Store), or package batch/pgqueue's journal in
// Postgres, whose Dispatcher (Options.Dispatcher, with RunOn) hands the rows to River workers on
// any machine, and whose Enqueue queues a payout in the caller's own transaction (an outbox).
// Reconcile compares a journal with the links on Dots. Importing batch links neither Postgres
// nor River.
package batch
