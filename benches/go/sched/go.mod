module gmpbench/sched

go 1.19
