// Package joint is HE over a session: the two-party threshold key
// generation (GenerateKeys), joint decryption to a named party (HelpDecrypt
// and DecryptWithPeer, and their sum-only variants), the checks of a
// received vector's shape (CheckVector), and the disclosure plan (Plan) that
// every joint decryption is admitted against. Each party holds its own copy
// of a protocol's plan (Plan.HeldBy) and admits a vector only for a step the
// plan declares to its peer, in the declared layout, length, level and
// scale, and no more vectors than declared. WithObserver lets a node watch
// every admission of a session (step, receiver, shape; never a value) and
// record it before the vector is decrypted or opened: the observer rides
// on the session's context into every plan taken up with it (HeldBy), and
// is called from whatever goroutine admits. The audit log's disclosure
// counts come from here, not from an estimate. It joins package he, which
// never touches the network, to fl's Transport, which knows nothing of HE.
package joint
