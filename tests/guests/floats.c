/* floats.c — printf of floats and an exit status from argv: the output is
 * compared with the same program built natively. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    volatile double x = 1.0 / 3.0, y = 1e-300, z = 6.02214076e23;
    volatile float f = 3.14159265f;
    printf("%f %.17g %g %e\n", x, y * 1e10, z, (double)f);
    printf("%.3f %a %g %g\n", sqrt(2.0), 0.1, -0.0, (double)INFINITY);
    return argc > 1 ? atoi(argv[1]) : 0;
}
