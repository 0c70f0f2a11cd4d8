// Package tlscert provides the server side of TLS: a certificate source
// that reloads a PEM certificate and key from files (on demand, on a
// signal, or when the files change) and swaps them atomically, and a
// generator of a self-signed certificate for a laptop.
//
// Reloading never makes things worse: a new certificate that does not
// parse, does not match its key or is outside its validity period is
// refused, logged, and the previous one keeps serving. Connections already
// established keep the certificate they were made with; every new
// handshake gets the current one through tls.Config.GetCertificate.
package tlscert
