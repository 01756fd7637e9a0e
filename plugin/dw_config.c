/* placeholder: plugin/dw_config.c is being written */
