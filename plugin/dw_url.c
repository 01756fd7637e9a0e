/* placeholder: plugin/dw_url.c is being written */
