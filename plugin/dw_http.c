/* placeholder: plugin/dw_http.c is being written */
