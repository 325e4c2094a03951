// Boot: styles, language, the session restored from the refresh cookie, then the shell and the router.
// The theme was already applied before first paint by /theme.js.
import './styles/tokens.css';
import { savedLocale, useLocale } from './i18n';
import { auth } from './api/client';
import './offline';
import './components/app';
import { startServiceWorker } from './offline/sw-register';

void useLocale(savedLocale());
void auth.restore();
startServiceWorker();
