"""The root ``hossctl --help`` as click renders it at 80 columns (generated: see ``launch``)."""

ROOT_HELP = (
    'Usage: hossctl [OPTIONS] COMMAND [ARGS]...\n'
    '\n'
    '  Declarative management of Hoss namespaces and sync targets.\n'
    '\n'
    'Options:\n'
    '  --version   Show the version and exit.\n'
    '  --debug     Log every HTTP request (never a token) to stderr; show\n'
    '              tracebacks of internal errors. Also accepted after the command.\n'
    '  -h, --help  Show this message and exit.\n'
    '\n'
    'Commands:\n'
    '  apply     Apply the config (after showing the plan and asking), or a...\n'
    '  demo      Walk through validate, plan, apply and a blocked change on...\n'
    "  export    Write the live servers' namespaces and sync targets as a...\n"
    '  graph     Draw the declared sync topology: servers, namespaces and...\n'
    '  plan      Read the live servers, diff them against the config and show...\n'
    '  rehearse  Apply the config to sandbox copies of the live servers, then...\n'
    '  sandbox   Serve a local Hoss-compatible core + auth service until...\n'
    '  schema    Print the config JSON Schema (for editors and...\n'
    '  show      Print a plan saved by `plan --out`, offline: no config,...\n'
    '  validate  Check config files offline: structure, references and safety...\n'
)
