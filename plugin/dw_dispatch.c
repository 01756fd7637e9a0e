/* placeholder: plugin/dw_dispatch.c is being written */
