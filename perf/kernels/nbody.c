/*
 * nbody.c — compute kernel: a gravitational n-body simulation in double
 * precision, 48 bodies with pseudo-random masses, positions and velocities,
 * SIZE time steps (default 90,000) of all-pairs forces and a symplectic
 * Euler update. Stresses f64 arithmetic, sqrt and division over small
 * arrays. The checksum is the bit pattern of the final total energy and of
 * every position: both builds do the same IEEE operations in the same
 * order (no -ffast-math, no FMA on either side), so the bits must match.
 */
#include "kernel.h"

#include <math.h>
#include <string.h>

#define N_BODIES 48
#define DT 0.001
#define SOFTENING 1e-3

typedef struct {
    double x[N_BODIES], y[N_BODIES], z[N_BODIES];
    double vx[N_BODIES], vy[N_BODIES], vz[N_BODIES];
    double m[N_BODIES];
} bodies;

static void init(bodies *b)
{
    uint64_t seed = 0xb0d1e5ull;
    for (int i = 0; i < N_BODIES; i++) {
        b->x[i] = kernel_rand_unit(&seed) * 10.0;
        b->y[i] = kernel_rand_unit(&seed) * 10.0;
        b->z[i] = kernel_rand_unit(&seed) * 10.0;
        b->vx[i] = kernel_rand_unit(&seed) * 0.1;
        b->vy[i] = kernel_rand_unit(&seed) * 0.1;
        b->vz[i] = kernel_rand_unit(&seed) * 0.1;
        b->m[i] = 0.5 + (kernel_rand_unit(&seed) + 1.0) * 0.25;
    }
}

static void step(bodies *b)
{
    for (int i = 0; i < N_BODIES; i++) {
        double ax = 0, ay = 0, az = 0;
        for (int j = 0; j < N_BODIES; j++) {
            double dx = b->x[j] - b->x[i], dy = b->y[j] - b->y[i], dz = b->z[j] - b->z[i];
            double d2 = dx * dx + dy * dy + dz * dz + SOFTENING;
            double inv = b->m[j] / (d2 * sqrt(d2));
            ax += dx * inv, ay += dy * inv, az += dz * inv;
        }
        b->vx[i] += ax * DT, b->vy[i] += ay * DT, b->vz[i] += az * DT;
    }
    for (int i = 0; i < N_BODIES; i++) {
        b->x[i] += b->vx[i] * DT;
        b->y[i] += b->vy[i] * DT;
        b->z[i] += b->vz[i] * DT;
    }
}

static double energy(const bodies *b)
{
    double e = 0;
    for (int i = 0; i < N_BODIES; i++) {
        e += 0.5 * b->m[i] * (b->vx[i] * b->vx[i] + b->vy[i] * b->vy[i] + b->vz[i] * b->vz[i]);
        for (int j = i + 1; j < N_BODIES; j++) {
            double dx = b->x[j] - b->x[i], dy = b->y[j] - b->y[i], dz = b->z[j] - b->z[i];
            e -= b->m[i] * b->m[j] / sqrt(dx * dx + dy * dy + dz * dz + SOFTENING);
        }
    }
    return e;
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

int main(int argc, char **argv)
{
    uint32_t steps = kernel_size(argc, argv, 90000);
    static bodies b;
    uint64_t sum;
    init(&b);
    for (uint32_t s = 0; s < steps; s++)
        step(&b);
    sum = kernel_mix(0, bits(energy(&b)));
    for (int i = 0; i < N_BODIES; i++)
        sum = kernel_mix(kernel_mix(kernel_mix(sum, bits(b.x[i])), bits(b.y[i])), bits(b.z[i]));
    kernel_report("nbody", steps, sum);
    return 0;
}
