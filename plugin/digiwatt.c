/* placeholder: plugin/digiwatt.c is being written */
