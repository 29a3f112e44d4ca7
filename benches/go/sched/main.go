// The scheduler shapes of gmp's `sched` benchmark, in Go, for a side-by-side
// row. Prints "<shape> <procs> <ns per op>" lines (the median of -reps runs),
// or with -park-memory the resident bytes per parked goroutine.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	spawnMany  = 100000
	yieldTasks = 200
	yields     = 1000
	chain      = 1000
	pingPongs  = 200000
	parked     = 1000000
)

// Like the Rust shapes, the clock runs from the first goroutine's start to the
// last one's finish.
func spawnManyLocal() float64 {
	var rem int64 = spawnMany
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		for i := 0; i < spawnMany; i++ {
			go func() {
				if atomic.AddInt64(&rem, -1) == 0 {
					done <- time.Since(start)
				}
			}()
		}
	}()
	return float64((<-done).Nanoseconds()) / spawnMany
}

func yieldMany() float64 {
	var rem int64 = yieldTasks
	done := make(chan struct{})
	start := time.Now()
	for t := 0; t < yieldTasks; t++ {
		go func() {
			for i := 0; i < yields; i++ {
				runtime.Gosched()
			}
			if atomic.AddInt64(&rem, -1) == 0 {
				close(done)
			}
		}()
	}
	<-done
	return float64(time.Since(start).Nanoseconds()) / (yieldTasks * yields)
}

func link(done chan time.Duration, start time.Time, n int) {
	if n == 0 {
		done <- time.Since(start)
		return
	}
	go link(done, start, n-1)
}

func chainedSpawn() float64 {
	done := make(chan time.Duration, 1)
	go func() { link(done, time.Now(), chain) }()
	return float64((<-done).Nanoseconds()) / chain
}

func pingPong() float64 {
	ping := make(chan int, 1)
	pong := make(chan int, 1)
	done := make(chan time.Duration, 1)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	go func() {
		start := time.Now()
		for i := 0; i < pingPongs; i++ {
			ping <- i
			<-pong
		}
		close(ping)
		done <- time.Since(start)
	}()
	return float64((<-done).Nanoseconds()) / pingPongs
}

const wakeN = 1000000

// wakeMillion parks wakeN goroutines, each on a channel of its own, then
// sends to each and waits for all to finish; ns per goroutine for the sends
// and the finishing (the stackful benchmark's wake_million).
func wakeMillion() float64 {
	chans := make([]chan struct{}, wakeN)
	var wg sync.WaitGroup
	wg.Add(wakeN)
	var started int64
	for i := range chans {
		c := make(chan struct{}, 1)
		chans[i] = c
		go func() {
			atomic.AddInt64(&started, 1)
			<-c
			wg.Done()
		}()
	}
	for atomic.LoadInt64(&started) < wakeN {
		runtime.Gosched()
	}
	start := time.Now()
	for _, c := range chans {
		c <- struct{}{}
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / wakeN
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	return pages * 4096
}

func parkMemory() float64 {
	runtime.GOMAXPROCS(2)
	never := make(chan struct{})
	var started int64
	before := rss()
	for i := 0; i < parked; i++ {
		go func() {
			atomic.AddInt64(&started, 1)
			<-never
		}()
	}
	for atomic.LoadInt64(&started) < parked {
		time.Sleep(time.Millisecond)
	}
	return float64(rss()-before) / parked
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func main() {
	procsFlag := flag.String("procs", "1,2", "comma-separated GOMAXPROCS values")
	reps := flag.Int("reps", 7, "runs per cell")
	park := flag.Bool("park-memory", false, "measure bytes per parked goroutine")
	stackful := flag.Bool("stackful", false, "add the stackful benchmark's wake_million shape")
	only := flag.String("shapes", "", "comma-separated shapes to run (default: all)")
	flag.Parse()
	if *park {
		fmt.Printf("%.1f\n", parkMemory())
		return
	}
	shapes := []struct {
		name string
		f    func() float64
	}{
		{"spawn_many_local", spawnManyLocal},
		{"yield_many", yieldMany},
		{"chained_spawn", chainedSpawn},
		{"ping_pong", pingPong},
	}
	if *stackful {
		shapes = append(shapes, struct {
			name string
			f    func() float64
		}{"wake_million", wakeMillion})
	}
	for _, p := range strings.Split(*procsFlag, ",") {
		procs, err := strconv.Atoi(p)
		if err != nil {
			panic(err)
		}
		runtime.GOMAXPROCS(procs)
		for _, s := range shapes {
			if *only != "" && !contains(strings.Split(*only, ","), s.name) {
				continue
			}
			s.f() // warm-up
			xs := make([]float64, *reps)
			for i := range xs {
				xs[i] = s.f()
			}
			fmt.Printf("%s %d %.1f\n", s.name, procs, median(xs))
		}
	}
}
