/*
 * mandelbrot.c — compute kernel (held back: added after the others were
 * tuned, to keep the geometric mean honest): escape counts of the
 * Mandelbrot set on a SIZE x SIZE grid (default 2600) over
 * [-2, 0.5] x [-1.25, 1.25], at most 256 iterations a point. Stresses
 * dependent f64 multiply-adds (no FMA on either side: the same IEEE
 * operations in the same order) and a data-dependent loop exit.
 */
#include "kernel.h"

int main(int argc, char **argv)
{
    uint32_t n = kernel_size(argc, argv, 2600);
    uint64_t sum = 0;
    for (uint32_t y = 0; y < n; y++) {
        double ci = -1.25 + 2.5 * (double)y / (double)n;
        uint64_t row = 0;
        for (uint32_t x = 0; x < n; x++) {
            double cr = -2.0 + 2.5 * (double)x / (double)n, zr = 0, zi = 0;
            uint32_t k = 0;
            while (k < 256 && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                k++;
            }
            row = row * 31 + k;
        }
        sum = kernel_mix(sum, row);
    }
    kernel_report("mandelbrot", n, sum);
    return 0;
}
