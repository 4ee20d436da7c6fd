// Package joint is HE over a session: the two-party threshold key
// generation (GenerateKeys), joint decryption to a named party (HelpDecrypt
// and DecryptWithPeer, and their sum-only variants), the checks of a
// received vector's shape (CheckVector), and the disclosure plan (Plan) that
// every joint decryption is admitted against. It joins package he, which
// never touches the network, to fl's Transport, which knows nothing of HE.
package joint
