"""Fixture data for the fault tests: a small project baked into a cached image, and the surface the
gold summariser made of it (the shape of GoldEnvironment.surface). No tests live here."""

from __future__ import annotations

import textwrap

import docker

from tests.support.images import ensure_image, ensure_pytest_image

IMAGE = "studio-test/faults:6"
DOCKERFILE = """FROM {parent}
RUN /opt/venv/bin/pip install -q pyyaml==6.0.2 markupsafe==3.0.2 six==1.17.0
COPY testbed/ /testbed/
"""

TESTBED = {
    "calc/__init__.py": """
        import warnings

        def add(a, b):
            return a + b

        def legacy_total(values):
            warnings.warn("legacy_total() is deprecated; use sum()", DeprecationWarning, stacklevel=2)
            return sum(values)
    """,
    "calc/render.py": """
        from importlib.metadata import version

        import markupsafe

        if int(version("markupsafe").split(".")[0]) < 3:
            raise ImportError("calc.render needs MarkupSafe >= 3")

        def bold(text):
            return markupsafe.Markup("<b>{}</b>").format(text)
    """,
    "calc/digest.py": """
        try:  # the optional accelerator, when installed
            from fastdigest import checksum
        except ImportError:
            def checksum(data):
                return sum(data) % 65521
    """,
    "tests/test_digest.py": """
        from calc.digest import checksum
        def test_checksum():
            assert checksum(b"abc") == 294
    """,
    "tests/test_calc.py": """
        from calc import add
        def test_add():
            assert add(2, 3) == 5
        def test_add_strings():
            assert add("a", "b") == "ab"
    """,
    "tests/test_yaml.py": """
        import yaml
        def test_yaml_roundtrip():
            assert yaml.safe_load(yaml.safe_dump({"a": [1, 2]})) == {"a": [1, 2]}
        def test_yaml_scalar():
            assert yaml.safe_load("x: 1")["x"] == 1
    """,
    "tests/test_markup.py": """
        import markupsafe
        def test_escape():
            assert str(markupsafe.escape("<a>")) == "&lt;a&gt;"
        def test_markup_join():
            assert markupsafe.Markup("<b>{}</b>").format("<i>") == "<b>&lt;i&gt;</b>"
    """,
    "tests/test_six.py": """
        import six
        def test_six_text():
            assert six.text_type is str
        def test_six_moves():
            assert list(six.moves.range(3)) == [0, 1, 2]
    """,
    "tests/test_store.py": """
        import sqlite3, zlib
        def test_sqlite():
            assert sqlite3.connect(":memory:").execute("select 1").fetchone() == (1,)
        def test_zlib():
            assert zlib.decompress(zlib.compress(b"x" * 100)) == b"x" * 100
    """,
    "tests/test_tls.py": """
        import ssl
        def test_default_context_trusts_cas():
            assert ssl.create_default_context().cert_store_stats()["x509_ca"] > 0
    """,
    "tests/test_tz.py": """
        import datetime, zoneinfo
        def test_paris_offset():
            dt = datetime.datetime(2024, 1, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
            assert dt.utcoffset() == datetime.timedelta(hours=1)
    """,
    "tests/test_locale.py": """
        import locale
        def test_user_locale():
            assert locale.setlocale(locale.LC_ALL, "")
    """,
    "tests/test_text.py": """
        import os, tempfile
        def test_non_ascii_roundtrip():
            path = os.path.join(tempfile.mkdtemp(), "menu.txt")
            with open(path, "w") as fh:
                fh.write("café crème")
            with open(path) as fh:
                assert fh.read() == "café crème"
    """,
    "tests/test_net.py": """
        import socket
        def test_localhost_echo():
            server = socket.socket()
            server.bind(("localhost", 0))
            server.listen(1)
            server.settimeout(10)  # a broken client fails the test rather than hanging the suite
            client = socket.create_connection(("localhost", server.getsockname()[1]))
            conn, _ = server.accept()
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
            for s in (client, conn, server):
                s.close()
    """,
    "tests/test_legacy.py": """
        from calc import legacy_total
        def test_legacy_total():
            assert legacy_total([1, 2, 3]) == 6
    """,
    "tests/test_mime.py": """
        import mimetypes
        def test_json_type():
            assert mimetypes.guess_type("data.json")[0] == "application/json"
    """,
    "tests/test_render.py": """
        from calc.render import bold
        def test_bold_escapes():
            assert bold("<i>") == "<b>&lt;i&gt;</b>"
    """,
    "tests/test_tools.py": """
        import subprocess
        def test_git_version():
            out = subprocess.run(["git", "--version"], check=True, capture_output=True, text=True)
            assert out.stdout.startswith("git version")
        def test_tmp_write(tmp_path):
            (tmp_path / "a.txt").write_text("ok")
            assert (tmp_path / "a.txt").read_text() == "ok"
    """,
}


def ensure_faults_image(client: docker.DockerClient, base: str) -> str:
    """The fixture gold image (venv, pytest, three packages, /testbed), built once and cached."""
    files = {"Dockerfile": DOCKERFILE.format(parent=ensure_pytest_image(client, base))}
    files.update({f"testbed/{p}": textwrap.dedent(b) for p, b in TESTBED.items()})
    return ensure_image(client, IMAGE, files, owner="faults", network_mode="host")


# Summarised surface of the fixture project (inversion.engine.gold.surface.summarize on a real run;
# module lists trimmed).
SURFACE = {'deb_packages_used': ['libbz2-1.0',
                       'libc6',
                       'libexpat1',
                       'liblzma5',
                       'libpython3.11-minimal',
                       'libpython3.11-stdlib',
                       'libreadline8',
                       'libsqlite3-0',
                       'libssl3',
                       'libtinfo6',
                       'libuuid1',
                       'zlib1g'],
 'distributions_used': ['MarkupSafe', 'PyYAML', 'iniconfig', 'pluggy', 'pytest', 'setuptools', 'six'],
 'executables': [{'count': 1, 'name': 'git', 'path': '/usr/bin/git'}],
 'modules': {'other': [],
             'project': [{'file': '/testbed/calc/__init__.py', 'name': 'calc'},
                         {'file': '/testbed/calc/render.py', 'name': 'calc.render'},
                         {'file': '/testbed/tests/test_calc.py', 'name': 'test_calc'},
                         {'file': '/testbed/tests/test_legacy.py', 'name': 'test_legacy'},
                         {'file': '/testbed/tests/test_locale.py', 'name': 'test_locale'},
                         {'file': '/testbed/tests/test_markup.py', 'name': 'test_markup'},
                         {'file': '/testbed/tests/test_mime.py', 'name': 'test_mime'},
                         {'file': '/testbed/tests/test_net.py', 'name': 'test_net'},
                         {'file': '/testbed/tests/test_render.py', 'name': 'test_render'},
                         {'file': '/testbed/tests/test_six.py', 'name': 'test_six'},
                         {'file': '/testbed/tests/test_store.py', 'name': 'test_store'},
                         {'file': '/testbed/tests/test_text.py', 'name': 'test_text'},
                         {'file': '/testbed/tests/test_tls.py', 'name': 'test_tls'},
                         {'file': '/testbed/tests/test_tools.py', 'name': 'test_tools'},
                         {'file': '/testbed/tests/test_tz.py', 'name': 'test_tz'},
                         {'file': '/testbed/tests/test_yaml.py', 'name': 'test_yaml'}],
             'site': [{'dist': 'pytest',
                       'file': '/opt/venv/lib/python3.11/site-packages/_pytest/__init__.py',
                       'name': '_pytest',
                       'version': '8.3.5'},
                      {'dist': 'pytest',
                       'file': '/opt/venv/lib/python3.11/site-packages/_pytest/main.py',
                       'name': '_pytest.main',
                       'version': '8.3.5'},
                      {'dist': 'MarkupSafe',
                       'file': '/opt/venv/lib/python3.11/site-packages/markupsafe/__init__.py',
                       'name': 'markupsafe',
                       'version': '3.0.2'},
                      {'dist': 'MarkupSafe',
                       'file': '/opt/venv/lib/python3.11/site-packages/markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so',
                       'name': 'markupsafe._speedups',
                       'version': '3.0.2'},
                      {'dist': 'pluggy',
                       'file': '/opt/venv/lib/python3.11/site-packages/pluggy/__init__.py',
                       'name': 'pluggy',
                       'version': '1.7.0'},
                      {'dist': 'pytest',
                       'file': '/opt/venv/lib/python3.11/site-packages/pytest/__init__.py',
                       'name': 'pytest',
                       'version': '8.3.5'},
                      {'dist': 'six',
                       'file': '/opt/venv/lib/python3.11/site-packages/six.py',
                       'name': 'six',
                       'version': '1.17.0'},
                      {'dist': 'PyYAML',
                       'file': '/opt/venv/lib/python3.11/site-packages/yaml/__init__.py',
                       'name': 'yaml',
                       'version': '6.0.2'},
                      {'dist': 'PyYAML',
                       'file': '/opt/venv/lib/python3.11/site-packages/yaml/constructor.py',
                       'name': 'yaml.constructor',
                       'version': '6.0.2'}],
             'stdlib': ['_cython_3_0_11',
                        '_sqlite3',
                        '_ssl',
                        '_sysconfigdata__x86_64-linux-gnu',
                        '_zoneinfo',
                        'cython_runtime',
                        'datetime',
                        'email.feedparser',
                        'email.parser',
                        'encodings.idna',
                        'getpass',
                        'json',
                        'json.decoder',
                        'json.encoder',
                        'json.scanner',
                        'locale',
                        'mimetypes',
                        'os',
                        'os.path',
                        'pwd',
                        're',
                        're._casefix',
                        're._compiler',
                        're._constants',
                        're._parser',
                        'socket',
                        'sqlite3',
                        'sqlite3.dbapi2',
                        'ssl',
                        'stringprep',
                        'subprocess',
                        'sys',
                        'sysconfig',
                        'tempfile',
                        'termios',
                        'time',
                        'warnings',
                        'zlib',
                        'zoneinfo',
                        'zoneinfo._common',
                        'zoneinfo._tzpath']},
 'packages': [{'name': 'iniconfig', 'version': '2.3.1'},
              {'name': 'MarkupSafe', 'version': '3.0.2'},
              {'name': 'packaging', 'version': '26.4'},
              {'name': 'pip', 'version': '23.0.1'},
              {'name': 'pluggy', 'version': '1.7.0'},
              {'name': 'pytest', 'version': '8.3.5'},
              {'name': 'PyYAML', 'version': '6.0.2'},
              {'name': 'setuptools', 'version': '66.1.1'},
              {'name': 'six', 'version': '1.17.0'}],
 'per_file': {'tests/test_calc.py': {'modules': ['calc', 'test_calc'], 'shared_libs': []},
              'tests/test_legacy.py': {'modules': ['test_legacy'], 'shared_libs': []},
              'tests/test_locale.py': {'modules': ['test_locale'], 'shared_libs': []},
              'tests/test_markup.py': {'modules': ['markupsafe', 'markupsafe._speedups', 'test_markup'],
                                       'shared_libs': ['/opt/venv/lib/python3.11/site-packages/markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so',
                                                       '/usr/lib/x86_64-linux-gnu/libpthread.so.0']},
              'tests/test_mime.py': {'modules': ['mimetypes', 'test_mime'], 'shared_libs': []},
              'tests/test_net.py': {'modules': ['encodings.idna', 'stringprep', 'test_net'],
                                    'shared_libs': []},
              'tests/test_render.py': {'modules': ['calc.render',
                                                   'email.feedparser',
                                                   'email.parser',
                                                   'test_render'],
                                       'shared_libs': []},
              'tests/test_six.py': {'modules': ['six', 'test_six'], 'shared_libs': []},
              'tests/test_store.py': {'modules': ['_sqlite3', 'sqlite3', 'sqlite3.dbapi2', 'test_store'],
                                      'shared_libs': ['/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so',
                                                      '/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6']},
              'tests/test_text.py': {'modules': ['test_text'], 'shared_libs': []},
              'tests/test_tls.py': {'modules': ['_ssl', 'ssl', 'test_tls'],
                                    'shared_libs': ['/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so',
                                                    '/usr/lib/x86_64-linux-gnu/libcrypto.so.3',
                                                    '/usr/lib/x86_64-linux-gnu/libssl.so.3']},
              'tests/test_tools.py': {'modules': ['getpass', 'pwd', 'termios', 'test_tools'],
                                      'shared_libs': ['/usr/lib/python3.11/lib-dynload/termios.cpython-311-x86_64-linux-gnu.so']},
              'tests/test_tz.py': {'modules': ['_sysconfigdata__x86_64-linux-gnu',
                                               '_zoneinfo',
                                               'sysconfig',
                                               'test_tz',
                                               'zoneinfo',
                                               'zoneinfo._common',
                                               'zoneinfo._tzpath'],
                                   'shared_libs': ['/usr/lib/python3.11/lib-dynload/_zoneinfo.cpython-311-x86_64-linux-gnu.so']},
              'tests/test_yaml.py': {'modules': ['_cython_3_0_11',
                                                 'cython_runtime',
                                                 'test_yaml',
                                                 'yaml',
                                                 'yaml._yaml',
                                                 'yaml.composer',
                                                 'yaml.constructor',
                                                 'yaml.cyaml',
                                                 'yaml.dumper',
                                                 'yaml.emitter',
                                                 'yaml.error',
                                                 'yaml.events',
                                                 'yaml.loader',
                                                 'yaml.nodes',
                                                 'yaml.parser',
                                                 'yaml.reader',
                                                 'yaml.representer',
                                                 'yaml.resolver',
                                                 'yaml.scanner',
                                                 'yaml.serializer',
                                                 'yaml.tokens'],
                                     'shared_libs': ['/opt/venv/lib/python3.11/site-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so']}},
 'python': {'base_prefix': '/usr',
            'executable': '/opt/venv/bin/python',
            'executable_link': 'python3',
            'prefix': '/opt/venv',
            'site_packages': ['/opt/venv/lib/python3.11/site-packages'],
            'version': '3.11.2'},
 'shared_libs': [{'dist': 'MarkupSafe',
                  'name': '_speedups.cpython-311-x86_64-linux-gnu.so',
                  'package': None,
                  'path': '/opt/venv/lib/python3.11/site-packages/markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': 'PyYAML',
                  'name': '_yaml.cpython-311-x86_64-linux-gnu.so',
                  'package': None,
                  'path': '/opt/venv/lib/python3.11/site-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_bz2.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_bz2.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_decimal.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_json.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_lzma.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_lzma.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_sqlite3.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_ssl.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-minimal',
                  'path': '/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_typing.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_typing.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_uuid.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_uuid.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': '_zoneinfo.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/_zoneinfo.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': 'readline.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': 'termios.cpython-311-x86_64-linux-gnu.so',
                  'package': 'libpython3.11-stdlib',
                  'path': '/usr/lib/python3.11/lib-dynload/termios.cpython-311-x86_64-linux-gnu.so'},
                 {'dist': None,
                  'name': 'ld-linux-x86-64.so.2',
                  'package': 'libc6',
                  'path': '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'},
                 {'dist': None,
                  'name': 'libbz2.so.1.0.4',
                  'package': 'libbz2-1.0',
                  'path': '/usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4'},
                 {'dist': None,
                  'name': 'libc.so.6',
                  'package': 'libc6',
                  'path': '/usr/lib/x86_64-linux-gnu/libc.so.6'},
                 {'dist': None,
                  'name': 'libcrypto.so.3',
                  'package': 'libssl3',
                  'path': '/usr/lib/x86_64-linux-gnu/libcrypto.so.3'},
                 {'dist': None,
                  'name': 'libexpat.so.1.8.10',
                  'package': 'libexpat1',
                  'path': '/usr/lib/x86_64-linux-gnu/libexpat.so.1.8.10'},
                 {'dist': None,
                  'name': 'liblzma.so.5.4.1',
                  'package': 'liblzma5',
                  'path': '/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1'},
                 {'dist': None,
                  'name': 'libm.so.6',
                  'package': 'libc6',
                  'path': '/usr/lib/x86_64-linux-gnu/libm.so.6'},
                 {'dist': None,
                  'name': 'libpthread.so.0',
                  'package': 'libc6',
                  'path': '/usr/lib/x86_64-linux-gnu/libpthread.so.0'},
                 {'dist': None,
                  'name': 'libreadline.so.8.2',
                  'package': 'libreadline8',
                  'path': '/usr/lib/x86_64-linux-gnu/libreadline.so.8.2'},
                 {'dist': None,
                  'name': 'libsqlite3.so.0.8.6',
                  'package': 'libsqlite3-0',
                  'path': '/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6'},
                 {'dist': None,
                  'name': 'libssl.so.3',
                  'package': 'libssl3',
                  'path': '/usr/lib/x86_64-linux-gnu/libssl.so.3'},
                 {'dist': None,
                  'name': 'libtinfo.so.6.4',
                  'package': 'libtinfo6',
                  'path': '/usr/lib/x86_64-linux-gnu/libtinfo.so.6.4'},
                 {'dist': None,
                  'name': 'libuuid.so.1.3.0',
                  'package': 'libuuid1',
                  'path': '/usr/lib/x86_64-linux-gnu/libuuid.so.1.3.0'},
                 {'dist': None,
                  'name': 'libz.so.1.2.13',
                  'package': 'zlib1g',
                  'path': '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13'}],
 'test_files': ['tests/test_calc.py',
                'tests/test_legacy.py',
                'tests/test_locale.py',
                'tests/test_markup.py',
                'tests/test_mime.py',
                'tests/test_net.py',
                'tests/test_render.py',
                'tests/test_six.py',
                'tests/test_store.py',
                'tests/test_text.py',
                'tests/test_tls.py',
                'tests/test_tools.py',
                'tests/test_tz.py',
                'tests/test_yaml.py']}


# The call map of the same run (one profiled run; two rows per top-level module kept).
SURFACE["calls"] = {'tests': 21,
 'functions': [{'module': 'markupsafe',
                'file': '/opt/venv/lib/python3.11/site-packages/markupsafe/__init__.py',
                'function': 'Markup.__new__',
                'tests': 3},
               {'module': 'markupsafe',
                'file': '/opt/venv/lib/python3.11/site-packages/markupsafe/__init__.py',
                'function': 'escape',
                'tests': 3},
               {'module': 'string',
                'file': '/usr/lib/python3.11/string.py',
                'function': 'Formatter._vformat',
                'tests': 2},
               {'module': 'string',
                'file': '/usr/lib/python3.11/string.py',
                'function': 'Formatter.check_unused_args',
                'tests': 2},
               {'module': 'yaml',
                'file': '/opt/venv/lib/python3.11/site-packages/yaml/__init__.py',
                'function': 'load',
                'tests': 2},
               {'module': 'yaml',
                'file': '/opt/venv/lib/python3.11/site-packages/yaml/__init__.py',
                'function': 'safe_load',
                'tests': 2},
               {'module': 'contextlib',
                'file': '/usr/lib/python3.11/contextlib.py',
                'function': 'ExitStack.__enter__',
                'tests': 1},
               {'module': 'contextlib',
                'file': '/usr/lib/python3.11/contextlib.py',
                'function': 'ExitStack.__exit__',
                'tests': 1},
               {'module': 'encodings',
                'file': '/usr/lib/python3.11/encodings/__init__.py',
                'function': 'normalize_encoding',
                'tests': 1},
               {'module': 'encodings',
                'file': '/usr/lib/python3.11/encodings/__init__.py',
                'function': 'search_function',
                'tests': 1},
               {'module': 'functools',
                'file': '/usr/lib/python3.11/functools.py',
                'function': 'lru_cache',
                'tests': 1},
               {'module': 'locale',
                'file': '/usr/lib/python3.11/locale.py',
                'function': 'setlocale',
                'tests': 1},
               {'module': 'mimetypes',
                'file': '/usr/lib/python3.11/mimetypes.py',
                'function': 'MimeTypes.__init__',
                'tests': 1},
               {'module': 'mimetypes',
                'file': '/usr/lib/python3.11/mimetypes.py',
                'function': 'MimeTypes.add_type',
                'tests': 1},
               {'module': 'pathlib',
                'file': '/usr/lib/python3.11/pathlib.py',
                'function': 'Path.write_text',
                'tests': 1},
               {'module': 'selectors',
                'file': '/usr/lib/python3.11/selectors.py',
                'function': 'BaseSelector.__enter__',
                'tests': 1},
               {'module': 'selectors',
                'file': '/usr/lib/python3.11/selectors.py',
                'function': 'BaseSelector.__exit__',
                'tests': 1},
               {'module': 'six',
                'file': '/opt/venv/lib/python3.11/site-packages/six.py',
                'function': 'MovedAttribute._resolve',
                'tests': 1},
               {'module': 'socket',
                'file': '/usr/lib/python3.11/socket.py',
                'function': '_intenum_converter',
                'tests': 1},
               {'module': 'socket',
                'file': '/usr/lib/python3.11/socket.py',
                'function': 'create_connection',
                'tests': 1},
               {'module': 'ssl',
                'file': '/usr/lib/python3.11/ssl.py',
                'function': 'SSLContext.__new__',
                'tests': 1},
               {'module': 'ssl',
                'file': '/usr/lib/python3.11/ssl.py',
                'function': 'SSLContext.load_default_certs',
                'tests': 1},
               {'module': 'subprocess',
                'file': '/usr/lib/python3.11/subprocess.py',
                'function': 'CompletedProcess.__init__',
                'tests': 1},
               {'module': 'subprocess',
                'file': '/usr/lib/python3.11/subprocess.py',
                'function': 'Popen.__del__',
                'tests': 1},
               {'module': 'tempfile',
                'file': '/usr/lib/python3.11/tempfile.py',
                'function': '_get_candidate_names',
                'tests': 1},
               {'module': 'tempfile',
                'file': '/usr/lib/python3.11/tempfile.py',
                'function': 'mkdtemp',
                'tests': 1},
               {'module': 'urllib.parse',
                'file': '/usr/lib/python3.11/urllib/parse.py',
                'function': '_splittype',
                'tests': 1},
               {'module': 'warnings',
                'file': '/usr/lib/python3.11/warnings.py',
                'function': '_showwarnmsg',
                'tests': 1},
               {'module': 'weakref',
                'file': '/usr/lib/python3.11/weakref.py',
                'function': 'KeyedRef.__init__',
                'tests': 1},
               {'module': 'weakref',
                'file': '/usr/lib/python3.11/weakref.py',
                'function': 'KeyedRef.__new__',
                'tests': 1},
               {'module': 'zoneinfo._common',
                'file': '/usr/lib/python3.11/zoneinfo/_common.py',
                'function': '_TZifHeader.__init__',
                'tests': 1},
               {'module': 'zoneinfo._common',
                'file': '/usr/lib/python3.11/zoneinfo/_common.py',
                'function': '_TZifHeader.from_file',
                'tests': 1}]}

PASSING = ['tests/test_calc.py::test_add',
 'tests/test_calc.py::test_add_strings',
 'tests/test_digest.py::test_checksum',
 'tests/test_legacy.py::test_legacy_total',
 'tests/test_locale.py::test_user_locale',
 'tests/test_markup.py::test_escape',
 'tests/test_markup.py::test_markup_join',
 'tests/test_mime.py::test_json_type',
 'tests/test_net.py::test_localhost_echo',
 'tests/test_render.py::test_bold_escapes',
 'tests/test_six.py::test_six_moves',
 'tests/test_six.py::test_six_text',
 'tests/test_store.py::test_sqlite',
 'tests/test_store.py::test_zlib',
 'tests/test_text.py::test_non_ascii_roundtrip',
 'tests/test_tls.py::test_default_context_trusts_cas',
 'tests/test_tools.py::test_git_version',
 'tests/test_tools.py::test_tmp_write',
 'tests/test_tz.py::test_paris_offset',
 'tests/test_yaml.py::test_yaml_roundtrip',
 'tests/test_yaml.py::test_yaml_scalar']


# Captured with the per-file import record (trimmed like the rest): stdlib files loaded from disk, the
# start-up set (top-level names) and each test file's modules (first loads and its own imports).
SURFACE["modules"]["stdlib_files"] = {'_bz2': '/usr/lib/python3.11/lib-dynload/_bz2.cpython-311-x86_64-linux-gnu.so',
 '_decimal': '/usr/lib/python3.11/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so',
 '_json': '/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so',
 '_lzma': '/usr/lib/python3.11/lib-dynload/_lzma.cpython-311-x86_64-linux-gnu.so',
 '_sqlite3': '/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so',
 '_ssl': '/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so',
 '_sysconfigdata__x86_64-linux-gnu': '/usr/lib/python3.11/_sysconfigdata__x86_64-linux-gnu.py',
 '_typing': '/usr/lib/python3.11/lib-dynload/_typing.cpython-311-x86_64-linux-gnu.so',
 '_uuid': '/usr/lib/python3.11/lib-dynload/_uuid.cpython-311-x86_64-linux-gnu.so',
 '_zoneinfo': '/usr/lib/python3.11/lib-dynload/_zoneinfo.cpython-311-x86_64-linux-gnu.so',
 'datetime': '/usr/lib/python3.11/datetime.py',
 'email': '/usr/lib/python3.11/email/__init__.py',
 'email._encoded_words': '/usr/lib/python3.11/email/_encoded_words.py',
 'email._parseaddr': '/usr/lib/python3.11/email/_parseaddr.py',
 'email._policybase': '/usr/lib/python3.11/email/_policybase.py',
 'email.base64mime': '/usr/lib/python3.11/email/base64mime.py',
 'email.charset': '/usr/lib/python3.11/email/charset.py',
 'email.encoders': '/usr/lib/python3.11/email/encoders.py',
 'email.errors': '/usr/lib/python3.11/email/errors.py',
 'email.feedparser': '/usr/lib/python3.11/email/feedparser.py',
 'email.header': '/usr/lib/python3.11/email/header.py',
 'email.iterators': '/usr/lib/python3.11/email/iterators.py',
 'email.message': '/usr/lib/python3.11/email/message.py',
 'email.parser': '/usr/lib/python3.11/email/parser.py',
 'email.quoprimime': '/usr/lib/python3.11/email/quoprimime.py',
 'email.utils': '/usr/lib/python3.11/email/utils.py',
 'encodings': '/usr/lib/python3.11/encodings/__init__.py',
 'encodings.aliases': '/usr/lib/python3.11/encodings/aliases.py',
 'encodings.idna': '/usr/lib/python3.11/encodings/idna.py',
 'encodings.utf_8': '/usr/lib/python3.11/encodings/utf_8.py',
 'getpass': '/usr/lib/python3.11/getpass.py',
 'importlib': '/usr/lib/python3.11/importlib/__init__.py',
 'importlib._abc': '/usr/lib/python3.11/importlib/_abc.py',
 'importlib._bootstrap': '/usr/lib/python3.11/importlib/_bootstrap.py',
 'importlib._bootstrap_external': '/usr/lib/python3.11/importlib/_bootstrap_external.py',
 'importlib.abc': '/usr/lib/python3.11/importlib/abc.py',
 'importlib.machinery': '/usr/lib/python3.11/importlib/machinery.py',
 'importlib.metadata': '/usr/lib/python3.11/importlib/metadata/__init__.py',
 'importlib.metadata._adapters': '/usr/lib/python3.11/importlib/metadata/_adapters.py',
 'importlib.metadata._collections': '/usr/lib/python3.11/importlib/metadata/_collections.py',
 'importlib.metadata._functools': '/usr/lib/python3.11/importlib/metadata/_functools.py',
 'importlib.metadata._itertools': '/usr/lib/python3.11/importlib/metadata/_itertools.py',
 'importlib.metadata._meta': '/usr/lib/python3.11/importlib/metadata/_meta.py',
 'importlib.metadata._text': '/usr/lib/python3.11/importlib/metadata/_text.py',
 'importlib.resources': '/usr/lib/python3.11/importlib/resources/__init__.py',
 'importlib.resources._adapters': '/usr/lib/python3.11/importlib/resources/_adapters.py',
 'importlib.resources._common': '/usr/lib/python3.11/importlib/resources/_common.py',
 'importlib.resources._legacy': '/usr/lib/python3.11/importlib/resources/_legacy.py',
 'importlib.resources.abc': '/usr/lib/python3.11/importlib/resources/abc.py',
 'importlib.util': '/usr/lib/python3.11/importlib/util.py',
 'locale': '/usr/lib/python3.11/locale.py',
 'mimetypes': '/usr/lib/python3.11/mimetypes.py',
 'os': '/usr/lib/python3.11/os.py',
 'os.path': '/usr/lib/python3.11/posixpath.py',
 'readline': '/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so',
 'socket': '/usr/lib/python3.11/socket.py',
 'sqlite3': '/usr/lib/python3.11/sqlite3/__init__.py',
 'sqlite3.dbapi2': '/usr/lib/python3.11/sqlite3/dbapi2.py',
 'ssl': '/usr/lib/python3.11/ssl.py',
 'stringprep': '/usr/lib/python3.11/stringprep.py',
 'subprocess': '/usr/lib/python3.11/subprocess.py',
 'sysconfig': '/usr/lib/python3.11/sysconfig.py',
 'tempfile': '/usr/lib/python3.11/tempfile.py',
 'termios': '/usr/lib/python3.11/lib-dynload/termios.cpython-311-x86_64-linux-gnu.so',
 'warnings': '/usr/lib/python3.11/warnings.py',
 'zoneinfo': '/usr/lib/python3.11/zoneinfo/__init__.py',
 'zoneinfo._common': '/usr/lib/python3.11/zoneinfo/_common.py',
 'zoneinfo._tzpath': '/usr/lib/python3.11/zoneinfo/_tzpath.py'}
SURFACE["modules"]["startup"] = ['__future__', '__main__', '_abc', '_ast', '_bisect', '_bz2', '_codecs', '_collections', '_collections_abc',
 '_compression', '_csv', '_datetime', '_decimal', '_distutils_hack', '_elementtree', '_frozen_importlib',
 '_frozen_importlib_external', '_functools', '_heapq', '_imp', '_io', '_json', '_locale', '_lzma', '_opcode',
 '_operator', '_posixsubprocess', '_pytest', '_random', '_sha512', '_signal', '_sitebuiltins', '_socket',
 '_sre', '_stat', '_string', '_struct', '_thread', '_typing', '_uuid', '_warnings', '_weakref', '_weakrefset',
 'abc', 'argparse', 'array', 'ast', 'atexit', 'base64', 'bdb', 'binascii', 'bisect', 'builtins', 'bz2',
 'calendar', 'cmd', 'code', 'codecs', 'codeop', 'collections', 'contextlib', 'copy', 'copyreg', 'csv',
 'dataclasses', 'datetime', 'decimal', 'difflib', 'dis', 'email', 'encodings', 'enum', 'errno',
 'faulthandler', 'fcntl', 'fnmatch', 'functools', 'gc', 'genericpath', 'gettext', 'glob', 'heapq',
 'importlib', 'iniconfig', 'inspect', 'io', 'ipaddress', 'itertools', 'json', 'keyword', 'linecache',
 'locale', 'logging', 'lzma', 'marshal', 'math', 'ntpath', 'numbers', 'opcode', 'operator', 'os', 'pathlib',
 'pdb', 'platform', 'pluggy', 'posix', 'posixpath', 'pprint', 'py', 'pyexpat', 'pytest', 'quopri', 'random',
 're', 'readline', 'reprlib', 'runpy', 'select', 'selectors', 'shlex', 'shutil', 'signal', 'site',
 'sitecustomize', 'socket', 'stat', 'string', 'struct', 'subprocess', 'sys', 'tempfile', 'textwrap',
 'threading', 'time', 'token', 'tokenize', 'traceback', 'types', 'typing', 'unicodedata', 'unittest',
 'urllib', 'uuid', 'warnings', 'weakref', 'xml', 'zipfile', 'zipimport', 'zlib']
for _file, _modules in {'tests/test_calc.py': ['calc', 'test_calc', 'warnings'],
 'tests/test_legacy.py': ['calc', 'test_legacy', 'warnings'],
 'tests/test_locale.py': ['locale', 'test_locale'],
 'tests/test_markup.py': ['markupsafe', 'markupsafe._speedups', 'test_markup'],
 'tests/test_mime.py': ['mimetypes', 'test_mime'],
 'tests/test_net.py': ['encodings.idna', 'socket', 'stringprep', 'test_net'],
 'tests/test_render.py': ['calc', 'calc.render', 'email.feedparser', 'email.parser', 'importlib',
                          'importlib.metadata', 'markupsafe', 'test_render', 'warnings'],
 'tests/test_six.py': ['six', 'test_six'],
 'tests/test_store.py': ['_sqlite3', 'sqlite3', 'sqlite3.dbapi2', 'test_store', 'zlib'],
 'tests/test_text.py': ['os', 'tempfile', 'test_text'],
 'tests/test_tls.py': ['_ssl', 'ssl', 'test_tls'],
 'tests/test_tools.py': ['getpass', 'pwd', 'subprocess', 'termios', 'test_tools'],
 'tests/test_tz.py': ['_sysconfigdata__x86_64-linux-gnu', '_zoneinfo', 'datetime', 'sysconfig', 'test_tz',
                      'zoneinfo', 'zoneinfo._common', 'zoneinfo._tzpath'],
 'tests/test_yaml.py': ['_cython_3_0_11', 'cython_runtime', 'test_yaml', 'yaml', 'yaml._yaml']}.items():
    SURFACE["per_file"][_file]["modules"] = _modules
