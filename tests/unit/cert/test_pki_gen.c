#include "certtest.h"
int main(void)
{
    return 0;
}
