module gmpbench/echo

go 1.19
