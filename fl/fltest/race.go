//go:build race

package fltest

// raceSlowdown is how much slower the protocols run under the race
// detector (measured: a one-epoch LR training with key generation takes
// 55 s with -race on 2 cores, 4-6 s without).
const raceSlowdown = 8
