from configparser import ConfigParser
import setuptools, shlex

# note: all settings are in settings.ini; edit there, not here
config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

cfg_keys = 'version description keywords author author_email'.split()
expected = cfg_keys + "lib_name user branch license status min_python audience language".split()
for o in expected: assert o in cfg, "missing expected setting: {}".format(o)
setup_cfg = {o:cfg[o] for o in cfg_keys}

licenses = {
    'apache2': ('Apache Software License 2.0','OSI Approved :: Apache Software License'),
    'mit': ('MIT License', 'OSI Approved :: MIT License'),
}
statuses = [ '1 - Planning', '2 - Pre-Alpha', '3 - Alpha',
    '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive' ]
status = next((s for s in statuses if s.split(' - ')[0] == cfg['status'].strip()), None)  # status = 3 is '3 - Alpha' (the list is not 0-based)
assert status, f"settings.ini: status must be 1..7, got {cfg['status']!r}"
py_versions = '3.9 3.10 3.11 3.12'.split()

requirements = shlex.split(cfg.get('requirements', ''))
# extras: one `extra_NAME = ...` key per extra in settings.ini; `all` = the run-time ones but simulation (Ray);
# `dev` = all + docs + dev_requirements (what `make test` needs: constraints.txt pins them)
extras = {k[len('extra_'):]: shlex.split(v) for k, v in cfg.items() if k.startswith('extra_')}
def union(*names): return list(dict.fromkeys(r for n in names for r in extras[n]))
extras['all'] = union(*(n for n in extras if n not in ('docs', 'simulation')))
extras['dev'] = union('all', 'docs') + [r for r in shlex.split(cfg.get('dev_requirements', '')) if r not in union('all', 'docs')]
min_python = cfg['min_python']
lic = licenses.get(cfg['license'].lower(), (cfg['license'], None))

setuptools.setup(
    name = cfg['lib_name'],
    license = lic[0],
    classifiers = [
        'Development Status :: ' + status,
        'Intended Audience :: ' + cfg['audience'].title(),
        'Natural Language :: ' + cfg['language'].title(),
    ] + ['Programming Language :: Python :: '+o for o in py_versions[py_versions.index(min_python):]] + (['License :: ' + lic[1] ] if lic[1] else []),
    url = cfg['git_url'],
    packages = setuptools.find_packages(include=['dpgan_nb', 'dpgan_nb.*']),
    include_package_data = True,
    package_data = {'dpgan_nb': ['assets/*', 'sweeps/*.yaml', 'cli_help.json']},
    install_requires = requirements,
    extras_require = extras,
    dependency_links = cfg.get('dep_links','').split(),
    python_requires  = '>=' + cfg['min_python'],
    long_description = open('README.md', encoding='utf-8').read(),
    long_description_content_type = 'text/markdown',
    zip_safe = False,
    entry_points = {
        'console_scripts': cfg.get('console_scripts','').split(),
        'nbdev': [f'{cfg.get("lib_path")}={cfg.get("lib_path")}._modidx:d']
    },
    **setup_cfg)
