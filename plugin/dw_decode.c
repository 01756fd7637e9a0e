/* placeholder: plugin/dw_decode.c is being written */
