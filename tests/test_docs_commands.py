"""Every command the docs show still matches the code, so a renamed flag,
tool, config, make target or extra breaks the suite.

Read from README.md, docs/*.md, benchmarks/*.md, plugins/*/README.md and
configs/*/README.md: every line of a ```bash block, and inline code that
starts with a tool (``tools/train.py CONFIG ...``, ``python -m ...``,
``make ...``). Each command is checked in its cheapest form, without running
it:

* a script or ``python -m`` module of the repository exists, and each
  ``--flag`` it is given appears in that tool's own ``--help`` (every tool's
  ``--help`` runs once, in one subprocess; nothing is hard-coded here);
* ``tools/dist_train.sh CONFIG N ...`` passes ``...`` to tools/train.py, so
  those flags are checked against train.py's ``--help``;
* config files named in a command exist, and every ``--cfg-options`` key
  given with a real config exists in that config;
* ``make TARGET`` names a target of the Makefile; ``pip install -e ".[x]"``
  names an extra of setup.cfg;
* a ```bash block calls ``.venv/bin/python`` (or ``.venv/bin/torchrun``),
  not ``python`` from PATH, which has no torch on a fresh clone.

``tools/dist_train.sh`` itself is checked by running it with a stand-in
interpreter (which interpreter it picks, what it passes to torchrun).
"""
from __future__ import annotations

import configparser
import glob
import json
import os
import os.path as osp
import re
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC_GLOBS = ('README.md', 'docs/*.md', 'benchmarks/*.md',
             'plugins/*/README.md', 'configs/*/README.md')
WRAPPERS = {'nohup', 'time', 'env', 'exec'}
SPLIT = {'&&', '||', ';', '|', '&'}
BARE_LAUNCHERS = {'python', 'python3', 'torchrun'}
ENV_ASSIGN = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*=')


@dataclass
class Command:
    doc: str           # file, relative to the repo
    line: int          # line number in the doc
    text: str          # the command as written
    kind: str          # 'script', 'module', 'make', 'pip'
    target: str = ''   # script path / module name / make targets / extras
    args: list = field(default_factory=list)
    launcher: str = ''  # the interpreter or launcher the doc calls
    inline: bool = False

    @property
    def where(self):
        return f'{self.doc}:{self.line}: {self.text}'


# ----------------------------------------------------------- extraction
def doc_files():
    found = []
    for pattern in DOC_GLOBS:
        found += sorted(glob.glob(osp.join(REPO, pattern)))
    return [osp.relpath(p, REPO) for p in found]


def _fenced_and_rest(text):
    """(line number, bash line) of ```bash blocks, and the text without
    any fenced block (for inline code)."""
    lines, rest = [], []
    fence, lang = None, ''
    pending, start = '', 0
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None and stripped.startswith('```'):
            fence, lang = stripped[:3], stripped[3:].strip().lower()
            rest.append('')
            continue
        if fence is not None and stripped.startswith(fence):
            fence = None
            rest.append('')
            continue
        if fence is None:
            rest.append(line)
            continue
        rest.append('')
        if lang not in ('bash', 'sh', 'shell'):
            continue
        if not pending:
            start = no
        if stripped.endswith('\\'):
            pending += stripped[:-1] + ' '
            continue
        lines.append((start, pending + stripped))
        pending = ''
    return lines, '\n'.join(rest)


def _is_python(tok):
    return tok in ('python', 'python3') or tok.endswith('/bin/python') \
        or tok.endswith('/bin/python3') or tok.startswith('${PYTHON') \
        or tok == '$PYTHON' or tok == '$(PY)'


def _resolve(path, doc):
    """A script path written in ``doc``: relative to the repo, else to the
    doc's folder (benchmarks/README.md says ``bench_eval.py``)."""
    for cand in (path, osp.join(osp.dirname(doc), path)):
        if osp.isfile(osp.join(REPO, cand)):
            return osp.normpath(cand)
    return None


def parse_command(doc, line, text, inline=False):
    """The checkable commands in one shell line (several when chained)."""
    # redirections (``> log 2>&1``) are not arguments
    bare = re.sub(r'\s\d*>>?&\d+', ' ', ' ' + text)
    bare = re.sub(r'\s\d*>>?\s*[^\s&|;]+', ' ', bare)
    try:
        lex = shlex.shlex(bare, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = '#'
        tokens = list(lex)
    except ValueError:
        return [] if inline else [Command(doc, line, text, 'unparsable')]
    groups, cur = [], []
    for tok in tokens:
        if tok in SPLIT:
            groups.append(cur)
            cur = []
        else:
            cur.append(tok)
    groups.append(cur)
    out = []
    for toks in groups:
        # leading VAR=value, and wrappers with their options (/usr/bin/time -v)
        while toks and (ENV_ASSIGN.match(toks[0]) or toks[0] in WRAPPERS
                        or toks[0].endswith('/time')):
            toks = toks[1:]
            while toks and toks[0].startswith('-'):
                toks = toks[1:]
        if not toks:
            continue
        head = toks[0]
        first = len(out)
        if head == 'make':
            targets = [t for t in toks[1:] if not t.startswith('-') and '=' not in t]
            out.append(Command(doc, line, text, 'make', ' '.join(targets)))
        elif head.endswith('pip') or (_is_python(head) and toks[1:3] == ['-m', 'pip']):
            rest = toks[1:] if head.endswith('pip') else toks[3:]
            extras = [m for t in rest for m in re.findall(r'\.\[([\w,-]+)\]', t)]
            if rest[:1] == ['install'] and extras:
                out.append(Command(doc, line, text, 'pip', ','.join(extras)))
        elif head.split('/')[-1] == 'torchrun' or (_is_python(head) and toks[1:3] == [
                '-m', 'torch.distributed.run']):
            # the launcher's own options come before the script
            script = next((i for i, t in enumerate(toks) if t.endswith('.py')), None)
            if script is not None:
                path = _resolve(toks[script], doc)
                out.append(Command(doc, line, text, 'script',
                                   path or toks[script], toks[script + 1:]))
        elif _is_python(head) and len(toks) > 1 and toks[1] == '-m':
            if len(toks) > 2:
                out.append(Command(doc, line, text, 'module', toks[2], toks[3:]))
        elif _is_python(head) and len(toks) > 1:
            path = _resolve(toks[1], doc)
            if path or not inline:
                out.append(Command(doc, line, text, 'script',
                                   path or toks[1], toks[2:]))
        elif head.endswith(('.py', '.sh')):
            path = _resolve(head, doc)
            if path or not inline:
                out.append(Command(doc, line, text, 'script', path or head,
                                   toks[1:]))
        for cmd in out[first:]:
            cmd.launcher, cmd.inline = head, inline
    return out


INLINE = re.compile(r'`([^`\n]+(?:\n[^`\n]+)?)`')
INLINE_START = re.compile(r'^(?:\.venv/bin/python3?|python3?|make|(?:\.venv/bin/)?pip)\s|^[\w./-]+\.(?:py|sh)\s')


def documented_commands():
    commands = []
    for doc in doc_files():
        with open(osp.join(REPO, doc), encoding='utf-8') as f:
            text = f.read()
        fenced, rest = _fenced_and_rest(text)
        for line, cmd in fenced:
            commands += parse_command(doc, line, cmd)
        for m in INLINE.finditer(rest):
            span = ' '.join(m.group(1).split())
            if INLINE_START.match(span):
                line = rest.count('\n', 0, m.start()) + 1
                commands += parse_command(doc, line, span, inline=True)
    return commands


COMMANDS = documented_commands()


# ------------------------------------------------------------ the tools
def module_path(name):
    base = osp.join(REPO, *name.split('.'))
    for cand in (base + '.py', osp.join(base, '__main__.py')):
        if osp.isfile(cand):
            return osp.relpath(cand, REPO)
    return None


HELP_RUNNER = textwrap.dedent('''
    import contextlib, io, json, os, runpy, sys
    repo, jobs = sys.argv[1], json.loads(sys.argv[2])
    os.chdir(repo)
    base_path, out = list(sys.path), {}
    for kind, name in jobs:
        buf = io.StringIO()
        sys.argv = [name, '--help']
        sys.path[:] = ([os.path.dirname(os.path.abspath(name))]
                       if kind == 'script' else [repo]) + base_path
        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                if kind == 'script':
                    runpy.run_path(name, run_name='__main__')
                else:
                    runpy.run_module(name, run_name='__main__', alter_sys=True)
            code = None
        except SystemExit as e:
            code = e.code
        except BaseException as e:
            code = f'{type(e).__name__}: {e}'
        out[name] = dict(code=code, text=buf.getvalue())
    print(json.dumps(out))
''')


def help_script(cmd):
    """The python file whose --help lists ``cmd``'s flags (None: none)."""
    if cmd.kind == 'script' and cmd.target.endswith('dist_train.sh'):
        return 'script', 'tools/train.py'
    if cmd.kind == 'script' and cmd.target.endswith('.py'):
        return 'script', cmd.target
    if cmd.kind == 'module' and module_path(cmd.target):
        return 'module', cmd.target
    return None


@pytest.fixture(scope='module')
def helps():
    jobs = sorted({help_script(c) for c in COMMANDS
                   if help_script(c) and has_argparse(c)})
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1',
               PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, '-c', HELP_RUNNER, REPO,
                          json.dumps(jobs)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def has_argparse(cmd):
    job = help_script(cmd)
    path = job[1] if job[0] == 'script' else module_path(job[1])
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        return 'ArgumentParser' in f.read()


def flags_of(args):
    """Long flags a command passes (``--x=1`` -> ``--x``); the values of
    ``--cfg-options`` are not flags."""
    return [a.split('=', 1)[0] for a in args if re.match(r'^--[A-Za-z]', a)]


def cfg_option_keys(args):
    keys, on = [], False
    for a in args:
        if a == '--cfg-options':
            on = True
        elif a.startswith('--'):
            on = False
        elif on and '=' in a:
            keys.append(a.split('=', 1)[0])
    return keys


def config_args(args):
    return [a for a in args if re.match(r'^configs/\S+\.py$', a)]


def make_targets():
    with open(osp.join(REPO, 'Makefile')) as f:
        return set(re.findall(r'^([\w.-]+)\s*:(?!=)', f.read(), re.M))


def setup_extras():
    cp = configparser.ConfigParser()
    cp.read(osp.join(REPO, 'setup.cfg'))
    return set(cp['options.extras_require'])


def check(cmd, helps):
    """Problems with one documented command (empty: it matches the code)."""
    problems = []
    if cmd.kind == 'unparsable':
        return ['cannot be parsed as a shell command']
    if not cmd.inline and cmd.launcher in BARE_LAUNCHERS:
        # on a fresh clone only .venv (made by `make install`) has torch
        problems.append(f'calls {cmd.launcher} from PATH: write '
                        f'.venv/bin/{cmd.launcher.rstrip("3")} as the other '
                        'commands do')
    if cmd.kind == 'make':
        missing = set(cmd.target.split()) - make_targets()
        return problems + ([f'no make target {sorted(missing)}'] if missing else [])
    if cmd.kind == 'pip':
        missing = set(cmd.target.split(',')) - setup_extras()
        return problems + ([f'no extra {sorted(missing)} in setup.cfg']
                           if missing else [])
    if cmd.kind == 'module' and not module_path(cmd.target):
        if cmd.target.split('.')[0] in ('reidkit', 'synthgen', 'plugins', 'tools',
                                        'benchmarks'):
            return problems + [f'no module {cmd.target} in the repository']
        return problems   # another package's module (pip, ...)
    if cmd.kind == 'script' and not osp.isfile(osp.join(REPO, cmd.target)):
        return problems + [f'no file {cmd.target}']
    for cfg in config_args(cmd.args):
        if not osp.isfile(osp.join(REPO, cfg)):
            problems.append(f'no config {cfg}')
    job = help_script(cmd)
    flags = flags_of(cmd.args)
    if job and not has_argparse(cmd):
        if flags:
            problems.append(f'{job[1]} takes no options, the doc gives {flags}')
    elif job:
        result = helps[job[1]]
        if result['code'] not in (0, None):
            problems.append(f'{job[1]} --help failed: {result["code"]}\n'
                            f'{result["text"][-1500:]}')
        else:
            known = set(re.findall(r'--[A-Za-z][\w-]*', result['text']))
            missing = [f for f in flags if f not in known]
            if missing:
                problems.append(f'{job[1]} has no option {missing} '
                                f'(its --help lists {sorted(known)})')
    keys = cfg_option_keys(cmd.args)
    configs = [c for c in config_args(cmd.args) if osp.isfile(osp.join(REPO, c))]
    if keys and configs:
        problems += missing_cfg_keys(configs[0], keys)
    return problems


def missing_cfg_keys(config, keys):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config), import_custom_modules=False)
    problems = []
    for key in keys:
        node = cfg.to_dict()
        for part in key.split('.'):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                problems.append(f'--cfg-options {key}: {config} has no such key')
                break
    return problems


# ---------------------------------------------------------------- tests
def test_the_docs_have_commands_to_check():
    kinds = {}
    for c in COMMANDS:
        kinds.setdefault(c.kind, set()).add(c.target)
    assert {'tools/train.py', 'tools/test.py', 'tools/dist_train.sh',
            'tools/make_toy_data.py', 'benchmarks/bench_eval.py'} <= kinds['script']
    assert 'plugins.dlcr.toy_ablation' in kinds['module']
    # torchrun's options are its own; the script's come after the script
    assert any(c.target == 'tools/generate.py' and '--launcher' in c.args
               for c in COMMANDS)
    assert {'demo', 'test', 'quickstart'} <= {t for ts in kinds['make']
                                             for t in ts.split()}
    assert 'tensorboard' in kinds['pip']
    # inline code counts too: README's `tools/make_toy_data.py KIND OUT --knob name=value`
    assert any(c.doc == 'README.md' and '--knob' in c.args for c in COMMANDS)


@pytest.mark.parametrize('cmd', COMMANDS, ids=lambda c: f'{c.doc}:{c.line}')
def test_documented_command_matches_the_code(cmd, helps):
    problems = check(cmd, helps)
    assert not problems, cmd.where + '\n' + '\n'.join(problems)


def test_a_renamed_flag_or_config_key_is_caught(helps):
    def one(text):
        (cmd,) = parse_command('README.md', 1, text)
        return check(cmd, helps)
    assert one('.venv/bin/python tools/train.py configs/quickstart/'
               'toy_market_bot_r18.py --cfg-options data_root=x') == []
    assert 'has no option' in one('.venv/bin/python tools/train.py CONFIG --resumee')[0]
    assert 'has no option' in one('tools/dist_train.sh CONFIG 2 --no-such-flag')[0]
    assert 'no such key' in one('.venv/bin/python tools/train.py configs/quickstart/'
                                'toy_market_bot_r18.py --cfg-options '
                                'train_cfg.max_epoch=3')[0]
    assert 'no config' in one('.venv/bin/python tools/train.py configs/none.py')[0]
    assert 'no make target' in one('make no-such-target')[0]
    assert 'no extra' in one('.venv/bin/pip install -e ".[nope]"')[0]
    assert 'no file' in one('.venv/bin/python tools/no_tool.py --x')[0]
    assert 'from PATH' in one('python tools/train.py CONFIG')[0]
    assert 'from PATH' in one('torchrun --nproc_per_node=2 tools/train.py CONFIG')[0]


def test_chains_wrappers_and_redirections_are_understood():
    cmds = parse_command('benchmarks/README.md', 1,
                         'nohup /usr/bin/time -v .venv/bin/python '
                         'benchmarks/bench_rerank.py --size msmt > msmt.log 2>&1 &')
    assert [(c.kind, c.target, c.args) for c in cmds] == [
        ('script', 'benchmarks/bench_rerank.py', ['--size', 'msmt'])]
    cmds = parse_command('README.md', 1, 'PYTHON=x make toy && make -n demo')
    assert [(c.kind, c.target) for c in cmds] == [('make', 'toy'), ('make', 'demo')]
    cmds = parse_command('benchmarks/README.md', 1, 'bench_eval.py --repeat 3',
                         inline=True)
    assert cmds[0].target == 'benchmarks/bench_eval.py'


# --------------------------------------------------- tools/dist_train.sh
def _fake_python(path):
    """An executable that records how it was called."""
    path.write_text('#!/bin/sh\necho "$0 $*" > "$(dirname "$0")/called"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _checkout(tmp_path):
    root = tmp_path / 'checkout'
    (root / 'tools').mkdir(parents=True)
    shutil.copy(osp.join(REPO, 'tools', 'dist_train.sh'), root / 'tools')
    return root


def _run_dist(root, env_extra, bindir):
    env = {'PATH': f'{bindir}:/usr/bin:/bin', **env_extra}
    out = subprocess.run(['bash', str(root / 'tools' / 'dist_train.sh'),
                          'cfg.py', '2', '--no-test'], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_dist_train_uses_the_checkouts_venv_then_python3(tmp_path):
    root = _checkout(tmp_path)
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    _fake_python(bindir / 'python3')
    # no .venv: python3 from PATH
    _run_dist(root, {}, bindir)
    called = (bindir / 'called').read_text().split()
    assert called[0] == str(bindir / 'python3')
    assert called[1:3] == ['-m', 'torch.distributed.run']
    assert '--nproc_per_node=2' in called
    assert called[-4:] == [str(root / 'tools' / 'train.py'), 'cfg.py',
                           '--launcher', 'pytorch'] or \
        called[-5:] == [str(root / 'tools' / 'train.py'), 'cfg.py',
                        '--launcher', 'pytorch', '--no-test']
    # the checkout's .venv wins over PATH
    (root / '.venv' / 'bin').mkdir(parents=True)
    _fake_python(root / '.venv' / 'bin' / 'python')
    _run_dist(root, {}, bindir)
    called = (root / '.venv' / 'bin' / 'called').read_text().split()
    assert called[0] == str(root / '.venv' / 'bin' / 'python')
    assert called[-1] == '--no-test'
    # $PYTHON wins over both
    other = tmp_path / 'other'
    other.mkdir()
    _fake_python(other / 'py')
    _run_dist(root, {'PYTHON': str(other / 'py')}, bindir)
    assert (other / 'called').read_text().split()[0] == str(other / 'py')
