# fib.py — calls and integer arithmetic: the naive recursive Fibonacci of
# sys.argv[1] (perf/realworld/run.sh)
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(int(sys.argv[1])))
