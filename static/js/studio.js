// Task Studio client glue (kept tiny: htmx does the work).
