// Package fair dispatches requests of many tenants onto a shared worker's
// limited concurrency fairly, in the spirit of Kubernetes API Priority and
// Fairness: a flow is a tenant, each request occupies seats (its estimated
// cost, e.g. rows × model size), and the worker has Capacity seats.
//
//   - Queuing and shuffle sharding. Requests that cannot start wait in
//     Queues bounded queues of QueueLength requests each. A flow is dealt
//     a hand of HandSize queues (shuffle sharding: a hash of the flow picks
//     HandSize distinct queues of the Queues) and a request joins the
//     shortest queue of its flow's hand. A flooding tenant fills only its
//     own hand; another tenant shares a full hand with it only if every
//     queue of its own hand is among the flooder's, which the sharding
//     makes unlikely (Queues=64, HandSize=6: about 1 in 75 million).
//     When every queue of the hand is full the request is shed at once
//     (ErrRejected: the caller answers ThrottlingException), so queues
//     never grow.
//   - Weighted fair queuing. Each request is tagged, when it arrives, with
//     a virtual finish time: start = max(the virtual clock, its flow's
//     last finish), finish = start + seats / weight (the flow's weight,
//     e.g. from its tier). The waiting request with the smallest finish
//     tag is dispatched next, as soon as its seats are free (no request is
//     overtaken by a smaller one, so large requests never starve). The
//     virtual clock is the start tag of the request last dispatched.
//     While capacity is contended, each backlogged flow receives seats in
//     proportion to its weight; a flow alone gets all of it
//     (work-conserving); an idle flow accumulates no credit.
//
// The Scheduler is pure apart from its lock and channels: no clock, no
// I/O. Its Sim type replays arrivals and service times deterministically
// for tests and capacity planning.
package fair
