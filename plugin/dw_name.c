/* placeholder: plugin/dw_name.c is being written */
