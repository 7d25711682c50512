#ifndef MCPGW_VERSION_H
#define MCPGW_VERSION_H
#define MCPGW_VERSION "0.1.0"
#endif
