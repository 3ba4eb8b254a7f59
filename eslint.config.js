// Lint rules: typescript-eslint's type-aware recommended set, kebab-case file names, and module
// boundaries (other modules may import only a module's index.ts).
import tseslint from 'typescript-eslint';

const MODULES = [
  'basics',
  'crypto',
  'store',
  'tlog',
  'voters',
  'access',
  'detect',
  'incidents',
  'results',
  'web',
  'cli',
];

/** Files of one module may not reach into another module's internals. */
function boundaryRules(self) {
  const others = MODULES.filter((m) => m !== self);
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: others.map((m) => ({
          regex: `^(\\.\\./)+${m}/(?!index\\.ts$).+`,
          message: `Import "${m}" only through its index.ts`,
        })),
      },
    ],
  };
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'coverage/',
      'test-artifacts/',
      '**/testdata/**',
      'eslint.config.js',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a literal union with an `as const` array' },
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports' },
      ],
    },
  },
  ...MODULES.map((m) => ({ files: [`src/${m}/**/*.ts`], rules: boundaryRules(m) })),
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
